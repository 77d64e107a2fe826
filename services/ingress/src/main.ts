import { runService } from '@parley/observability';
import { loadIngressConfig } from './config/ingress.config';
import { startIngress } from './ingress.app';

runService('ingress', () => startIngress(loadIngressConfig()));
