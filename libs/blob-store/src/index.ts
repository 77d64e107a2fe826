export * from './blob-store.port';
export * from './fs/fs.blob-store';
export * from './mongo/gridfs.blob-store';
