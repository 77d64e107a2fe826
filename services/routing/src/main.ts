import { runService } from '@parley/observability';
import { loadRoutingConfig } from './config/routing.config';
import { startRouting } from './routing.app';

runService('routing', () => startRouting(loadRoutingConfig()));
