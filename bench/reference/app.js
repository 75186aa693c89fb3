// The reference Node sample ("mTLS Client Certificates", Express middleware on App Service),
// copied verbatim from /work/shared/reference/000_a5bac4eb80c55806.txt for bench/load.sh.
// Not adapted: it runs as published. bench/load.sh gives it the same settings (PORT,
// ALLOWED_CLIENT_CERT_*, OUTBOUND_CLIENT_CERT_*, REMOTE_API_URL) and trusts the local upstream's
// private CA through NODE_EXTRA_CA_CERTS, which needs no code change. The original has no
// indentation; it is kept as it was.
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const express = require('express');
const app = express();
const port = process.env.PORT || 3000;
const allowedCommonNames = new Set(
(process.env.ALLOWED_CLIENT_CERT_COMMON_NAMES || 'api-client.contoso.com')
.split(',')
.map((value) => value.trim())
.filter(Boolean)
);
const allowedThumbprints = new Set(
(process.env.ALLOWED_CLIENT_CERT_THUMBPRINTS || '')
.split(',')
.map((value) => value.trim().toUpperCase())
.filter(Boolean)
);
function parseClientCertificate(req) {
const headerValue = req.header('X-ARR-ClientCert');
if (!headerValue) {
return null;
}
const pem = [
'-----BEGIN CERTIFICATE-----',
headerValue,
'-----END CERTIFICATE-----',
''
].join('\n');
const certificate = new crypto.X509Certificate(pem);
const fingerprint = certificate.fingerprint.replace(/:/g, '').toUpperCase();
const commonNameMatch = certificate.subject.match(/CN=([^,]+)/);
const commonName = commonNameMatch ? commonNameMatch[1] : null;
return {
pem,
fingerprint,
commonName,
validFrom: certificate.validFrom,
validTo: certificate.validTo
};
}
function requireKnownClientCertificate(req, res, next) {
if (req.path === '/health') {
return next();
}
const clientCertificate = parseClientCertificate(req);
if (!clientCertificate) {
return res.status(403).json({ error: 'client certificate header missing' });
}
if (allowedThumbprints.size > 0 && allowedThumbprints.has(clientCertificate.fingerprint)) {
req.clientCertificate = clientCertificate;
return next();
}
if (clientCertificate.commonName && allowedCommonNames.has(clientCertificate.commonName)) {
req.clientCertificate = clientCertificate;
return next();
}
return res.status(403).json({ error: 'client certificate is not allowlisted' });
}
app.use(requireKnownClientCertificate);
app.get('/health', (_req, res) => {
res.json({ status: 'ok' });
});
app.get('/cert-info', (req, res) => {
res.json(req.clientCertificate);
});
app.get('/outbound-mtls', async (_req, res, next) => {
try {
const pfxPath = process.env.OUTBOUND_CLIENT_CERT_PATH || '/var/ssl/private/<thumbprint>.p12';
const pfxPassword = process.env.OUTBOUND_CLIENT_CERT_PASSWORD || '';
const targetUrl = new URL(process.env.REMOTE_API_URL || 'https://api.contoso.com/health');
const agent = new https.Agent({
pfx: fs.readFileSync(pfxPath),
passphrase: pfxPassword || undefined,
rejectUnauthorized: true
});
const responseBody = await new Promise((resolve, reject) => {
const request = https.get(
targetUrl,
{ agent },
(response) => {
let body = '';
response.on('data', (chunk) => { body += chunk; });
response.on('end', () => resolve({ statusCode: response.statusCode, body }));
}
);
request.on('error', reject);
});
res.json(responseBody);
} catch (error) {
next(error);
}
});
app.use((error, _req, res, _next) => {
res.status(500).json({ error: error.message });
});
app.listen(port, () => {
console.log(`Server listening on ${port}`);
});
