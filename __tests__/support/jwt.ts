import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/**
 * An Ed25519 key pair for sqld's `--auth-jwt-key-file`: the public key goes to
 * the server, tokens are signed with the private one.
 */
export function jwtKeys(publicKeyFile: string): { token: (claims?: object) => string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    token: (claims = {}) => {
      const body = `${encode({ alg: 'EdDSA', typ: 'JWT' })}.${encode(claims)}`;
      return `${body}.${sign(null, Buffer.from(body), privateKey).toString('base64url')}`;
    },
  };
}
