import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * The thread that copies a SQLite event log's write-ahead log back into the
 * database file. A checkpoint writes every page the log changed and syncs the
 * file twice; run by the appending connection itself (SQLite's automatic
 * checkpoint), it held the event loop for those syncs. A PASSIVE checkpoint on a
 * connection of its own never blocks writers or readers.
 */
export interface CheckpointWorkerData {
  readonly filename: string;
  readonly intervalMs: number;
}

/** What the worker reports after each checkpoint: frames in the write-ahead log, and how many of them are in the database file. */
export interface CheckpointReport {
  readonly log: number;
  readonly checkpointed: number;
}

const { filename, intervalMs } = workerData as CheckpointWorkerData;
const db = new Database(filename);
db.pragma('synchronous = NORMAL');
const checkpoint = db.prepare<[], { busy: number; log: number; checkpointed: number }>('PRAGMA wal_checkpoint(PASSIVE)');

const timer = setInterval(() => {
  const result = checkpoint.get();
  if (result) parentPort?.postMessage({ log: result.log, checkpointed: result.checkpointed } satisfies CheckpointReport);
}, intervalMs);

parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.postMessage('stopped');
  parentPort?.close();
});
