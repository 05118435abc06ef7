/**
 * The browser build's crypto suite (package.json `browser` maps crypto/native.js here): there is
 * no node:crypto or libsodium binary, so `'native'` is the portable @noble suite.
 * @module
 */
export { nobleSuite as nativeSuite } from '../../machines/lib/crypto-noble.js'
