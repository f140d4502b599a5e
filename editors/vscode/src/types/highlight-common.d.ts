// highlight.js 11.12 ships types for its main entry only. lib/common is the
// same API with the common languages registered.
declare module 'highlight.js/lib/common' {
  import hljs from 'highlight.js';
  export default hljs;
}
