import { runService } from '@parley/observability';
import { loadAvailabilityConfig } from './config/availability.config';
import { startAvailability } from './availability.app';

runService('availability', () => startAvailability(loadAvailabilityConfig()));
