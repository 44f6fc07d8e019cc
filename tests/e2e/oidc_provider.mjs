// A real OpenID Connect provider for the browser tests: node-oidc-provider on its
// default settings (development login and consent pages, claims only through UserInfo,
// `iss` in every authorization response), with one client and a few accounts.
//
//   node oidc_provider.mjs '{"client_id": ..., "client_secret": ..., "redirect_uri": ...,
//                            "accounts": {"sam": {"email": ..., "email_verified": true, "name": ...}}}'
//
// It listens on 127.0.0.1 on a free port, prints {"issuer": "http://127.0.0.1:PORT"} on
// one line once it answers, and exits when its standard input closes (the test ended).
// The login page takes any login: it is the account's id (`sub`); the password is ignored.

import http from "node:http";

import Provider from "oidc-provider";

const settings = JSON.parse(process.argv[2]);
const server = http.createServer();

server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: settings.client_id,
        client_secret: settings.client_secret,
        redirect_uris: [settings.redirect_uri],
      },
    ],
    // The library defines no email or profile claims of its own: name the standard ones.
    claims: { email: ["email", "email_verified"], profile: ["name"] },
    async findAccount(ctx, sub) {
      const claims = settings.accounts[sub] ?? {};
      return { accountId: sub, async claims() { return { ...claims, sub }; } };
    },
  });
  server.on("request", provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.stdin.on("end", () => process.exit(0));
process.stdin.on("data", () => {});
process.stdin.resume();
