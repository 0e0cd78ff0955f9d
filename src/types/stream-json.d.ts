// stream-json maps `stream-json/*` to its `src/*` through package.json "exports", which
// TypeScript's node10 resolution (this project's, for CommonJS) does not read. These name the
// typings for the two subpaths the import uses; at run time Node resolves them itself.
declare module 'stream-json/filters/pick.js' {
  export { default, pick } from 'stream-json/src/filters/pick';
}
declare module 'stream-json/streamers/stream-array.js' {
  export { default, streamArray } from 'stream-json/src/streamers/stream-array';
}
