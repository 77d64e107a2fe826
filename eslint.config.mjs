import nx from '@nx/eslint-plugin';

/**
 * Module boundaries, enforced on every `npm test`:
 * - type:domain   pure rules: imports only other domain libraries, no framework, no I/O;
 * - type:infra    adapters (event log, bus, observability): domain and infra only;
 * - type:testing  test helpers: anything but services;
 * - type:service  NestJS services: libraries only, never another service;
 * - type:composition  `npm start`, all services in one process: may import services.
 */
const FRAMEWORK_AND_IO = [
  '@nestjs/*',
  'kafkajs',
  'mongodb',
  'better-sqlite3',
  'pino',
  'prom-client',
  '@grpc/*',
  'ws',
  'fs',
  'node:fs',
  'node:fs/promises',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
  'child_process',
  'node:child_process',
  'worker_threads',
  'node:worker_threads',
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '.cache', '.nx', 'tmp'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: FRAMEWORK_AND_IO },
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:domain', 'type:infra', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:domain', 'type:infra', 'type:testing'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:domain', 'type:infra', 'type:testing'] },
            // The one-process composition (npm start) is the only place that may wire services together.
            { sourceTag: 'type:composition', onlyDependOnLibsWithTags: ['type:domain', 'type:infra', 'type:testing', 'type:service'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // noUncheckedIndexedAccess-style code asserts indexes it has just checked.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];
