/** Typed, validated messages between Cipherfold's contexts. Pure TypeScript (no extension APIs). */
export * from './guards';
export * from './envelope';
export * from './origin';
export * from './ui';
export * from './content';
export * from './engine';
export * from './accounts';
export * from './folder';
export * from './devices';
export * from './preflight';
export * from './client';
