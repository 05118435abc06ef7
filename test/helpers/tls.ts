/**
 * A self-signed TLS certificate for 127.0.0.1 and localhost, made by the test (the `selfsigned`
 * package: pure JS, no openssl needed), for https servers and wss dials that trust it.
 * @module
 */
import { generate } from 'selfsigned'

export interface TestCert { key: string; cert: string }

/** A fresh EC P-256 certificate valid for a day, for IP 127.0.0.1 and DNS localhost. */
export async function selfSignedCert(): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  })
  return { key: pems.private, cert: pems.cert }
}
