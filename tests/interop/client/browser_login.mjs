#!/usr/bin/env node
// A headless browser for `warden mcp --login` against `warden issuer`: Debian's Chromium through
// puppeteer-core opens the authorization URL, signs in (WDN_USER, WDN_PASSWORD), allows the
// consent page, and follows the redirect to warden mcp's loopback listener. Used as
// WARDEN_BROWSER. Exit 0 once the listener's page says the sign-in finished.
import puppeteer from 'puppeteer-core';

const url = process.argv[2];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptInsecureCerts: true, // the issuer's certificate comes from the project CA
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let rc = 1;
try {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await page.type('#username', process.env.WDN_USER);
  await page.type('#password', process.env.WDN_PASSWORD);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('form.signin button')]);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[value=allow]')]);
  const text = await page.$eval('body', (e) => e.innerText);
  if (/Sign-in finished/.test(text)) rc = 0;
  else console.error(`browser_login: ended on ${page.url()}: ${text.slice(0, 300)}`);
} catch (e) {
  console.error(`browser_login: ${e?.stack ?? e}`);
} finally {
  await browser.close();
}
process.exit(rc);
