// A real OpenID Provider (panva/oidc-provider, OpenID Certified) for Swiftacare's SSO tests and
// for trying SSO locally (docs/SSO.md). Not a mock: discovery, JWKS, authorization code + PKCE,
// token and userinfo endpoints are oidc-provider's own. Only its development sign-in screen
// (devInteractions: a form with `login` and `password`) is used, limited to the users below.
//
//   node server.mjs config.json
//   node server.mjs --redirect-uri URI [--redirect-uri URI …]   (the demo set-up, docs/SSO.md)
//
// config.json: { "port": 9400, "clients": [ { "client_id", "client_secret", "redirect_uris": [] } ],
//                "users": { "alice@example.org": { "password": "…", "groups": ["therapists"] } },
//                "jwks_file": "optional path to a JWKS with private keys (key rotation tests)" }
// With no config file it serves the demo set-up of docs/SSO.md on port 9400.
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const demo = {
  port: 9400,
  clients: [{
    client_id: 'swiftacare',
    client_secret: 'swiftacare-demo-secret-change-me',
    redirect_uris: [],
  }],
  users: {
    'alice@hospital.example': { password: 'alice-pass', groups: ['therapists'] },
    'bob@hospital.example': { password: 'bob-pass', groups: ['front-desk'] },
    'carol@hospital.example': { password: 'carol-pass', groups: [] },
  },
};
const args = process.argv.slice(2);
let cfg = demo;
if (args[0] === '--redirect-uri') {
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] !== '--redirect-uri' || !args[i + 1]) throw new Error('usage: --redirect-uri URI …');
    demo.clients[0].redirect_uris.push(args[i + 1]);
  }
} else if (args[0]) {
  cfg = JSON.parse(readFileSync(args[0], 'utf8'));
}
const issuer = cfg.issuer ?? `http://127.0.0.1:${cfg.port}`;

function freshKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}
const jwks = cfg.jwks_file ? JSON.parse(readFileSync(cfg.jwks_file, 'utf8')) : { keys: [freshKey()] };

const users = cfg.users ?? {};
const provider = new Provider(issuer, {
  clients: cfg.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks,
  // Attack tests only: let a client's ID tokens be HS256 (config `id_token_algs`,
  // with the client's `id_token_signed_response_alg`), as a compromised or misconfigured IdP
  // would send them. The demo never sets it.
  ...(cfg.id_token_algs ? { enabledJWA: { idTokenSigningAlgValues: cfg.id_token_algs } } : {}),
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const u = users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: u.sub ?? id, email: id, email_verified: u.email_verified ?? true, groups: u.groups ?? [] };
      },
    };
  },
  // First-party client: no consent screen; the grant covers what Swiftacare asks for.
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email groups');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

// The development sign-in screen takes any `login`; refuse anyone not in the user list, and a
// wrong password, before oidc-provider sees the form.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const raw = await new Promise((resolve) => {
      let body = '';
      ctx.req.on('data', (d) => { body += d; });
      ctx.req.on('end', () => resolve(body));
    });
    const form = new URLSearchParams(raw);
    const u = users[form.get('login')];
    if (form.get('prompt') === 'login' && (!u || u.password !== form.get('password'))) {
      ctx.status = 401;
      ctx.type = 'text/plain';
      ctx.body = 'wrong user name or password';
      return;
    }
    // oidc-provider reads an already-consumed body from req.body.
    ctx.req.body = Object.fromEntries(form);
  }
  await next();
});

provider.listen(cfg.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
