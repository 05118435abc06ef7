/**
 * IP address checks without `node:net`, so address parsing also runs in the browser build:
 * dotted-quad IPv4 without leading zeros (as node:net's isIPv4), and IPv6 as the WHATWG URL
 * parser accepts it inside brackets (no zone ids).
 * @module
 */
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`)

/** Whether `text` is an IPv4 address (`127.0.0.1`). */
export function isIPv4(text: string): boolean {
  return IPV4.test(text)
}

/** Whether `text` is an IPv6 address without brackets (`::1`). */
export function isIPv6(text: string): boolean {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false
  try {
    new URL(`http://[${text}]/`)
    return true
  } catch {
    return false
  }
}
