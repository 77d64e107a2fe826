import { runService } from '@parley/observability';
import { loadHistoryConfig } from './config/history.config';
import { startHistory } from './history.app';

runService('history', () => startHistory(loadHistoryConfig()));
