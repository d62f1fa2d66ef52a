// A real OAuth2/OIDC token issuer on loopback for the HTTP adapter's tests.
//
// oauth2-mock-server serves /.well-known/openid-configuration, /jwks and /token and signs
// real JWTs (RS256). This script starts it on 127.0.0.1 (a free port), prints one JSON line
// {"issuer", "port"}, then answers JSON commands on stdin, one per line:
//   {"claims": {...}, "remove": ["aud"], "expiresIn": 3600}       -> {"token": "..."}
//   {"claims": {...}, "rogue": true}   signed by a key with the served key's kid that the
//                                      JWKS does not publish (a forged token)
//   {"token_endpoint_claims": {...}}   claims the /token endpoint adds from now on -> {"ok": true}
// It stops when stdin closes.
import readline from 'node:readline';
import { OAuth2Issuer, OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256', { kid: 'hc-test-key' });
await server.start(0, '127.0.0.1');
const port = server.address().port;

const rogue = new OAuth2Issuer();
rogue.url = server.issuer.url;
await rogue.keys.generate('RS256', { kid: 'hc-test-key' });

let endpointClaims = {};
server.service.on('beforeTokenSigning', (token) => {
  Object.assign(token.payload, endpointClaims);
});

process.stdout.write(JSON.stringify({ issuer: server.issuer.url, port }) + '\n');

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let answer;
  try {
    const command = JSON.parse(line);
    if (command.token_endpoint_claims) {
      endpointClaims = command.token_endpoint_claims;
      answer = { ok: true };
    } else {
      const issuer = command.rogue ? rogue : server.issuer;
      const token = await issuer.buildToken({
        expiresIn: command.expiresIn ?? 3600,
        scopesOrTransform: (header, payload) => {
          Object.assign(payload, command.claims ?? {});
          for (const name of command.remove ?? []) delete payload[name];
        },
      });
      answer = { token };
    }
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
lines.on('close', async () => {
  await server.stop();
  process.exit(0);
});
