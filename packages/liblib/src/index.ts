/**
 * `@genqueue/liblib`: the signed LiblibAI OpenAPI client (002).
 */

export type { SignedQuery, SignInput } from './sign.ts';
export { sign, signedQuery, signedQueryString } from './sign.ts';
