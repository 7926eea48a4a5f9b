export { type DnsServer, type DnsTable, nameserversOf, startDnsServer } from './server.js';
