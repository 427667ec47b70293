// Express API with session auth and API-key auth for service accounts.
'use strict';

const crypto = require('crypto');
const express = require('express');
const session = require('express-session');
const { Pool } = require('pg');

const app = express();
const pool = new Pool({ connectionString: process.env.DATABASE_URL });

const SESSION_SECRET = process.env.SESSION_SECRET;
if (!SESSION_SECRET) {
  throw new Error('SESSION_SECRET must be set');
}

app.use(express.json({ limit: '1mb' }));
app.use(
  session({
    secret: SESSION_SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 8 * 3600 * 1000 },
  }),
);

function timingSafeEqual(a, b) {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

async function apiKeyAuth(req, res, next) {
  const apiKey = req.get('x-api-key');
  if (!apiKey) return next();
  const digest = crypto.createHash('sha256').update(apiKey).digest('hex');
  const { rows } = await pool.query('SELECT account_id, scopes FROM api_keys WHERE digest = $1 AND revoked_at IS NULL', [digest]);
  if (rows.length === 0) return res.status(401).json({ error: 'invalid api key' });
  req.account = { id: rows[0].account_id, scopes: rows[0].scopes };
  return next();
}

function requireAuth(req, res, next) {
  if (req.account || (req.session && req.session.userId)) return next();
  return res.status(401).json({ error: 'authentication required' });
}

app.post('/login', async (req, res) => {
  const { email, password } = req.body;
  const { rows } = await pool.query('SELECT id, password_hash FROM users WHERE email = $1', [email]);
  const user = rows[0];
  const ok = user && (await verifyPassword(password, user.password_hash));
  if (!ok) return res.status(401).json({ error: 'wrong email or password' });
  req.session.regenerate((err) => {
    if (err) return res.status(500).end();
    req.session.userId = user.id;
    res.json({ ok: true });
  });
});

app.post('/tokens', apiKeyAuth, requireAuth, async (req, res) => {
  const token = crypto.randomBytes(32).toString('base64url');
  const tokenHash = crypto.createHash('sha256').update(token).digest('hex');
  await pool.query('INSERT INTO tokens (account_id, token_hash, expires_at) VALUES ($1, $2, now() + interval \'30 days\')', [
    req.account.id,
    tokenHash,
  ]);
  // The plaintext token is shown once and never stored.
  res.status(201).json({ token, expires_in: 30 * 24 * 3600 });
});

app.get('/healthz', (req, res) => res.json({ status: 'ok', uptime: process.uptime() }));

async function verifyPassword(password, stored) {
  const [salt, key] = stored.split(':');
  const derived = await new Promise((resolve, reject) =>
    crypto.scrypt(password, Buffer.from(salt, 'hex'), 64, (err, buf) => (err ? reject(err) : resolve(buf))),
  );
  return timingSafeEqual(derived.toString('hex'), key);
}

const port = Number(process.env.PORT || 3000);
app.listen(port, () => console.log(`listening on :${port}`));
