// The member (site agent and arbitrator) as one CommonJS bundle, dist/bin/member.cjs
// (packaging/bundle.ts builds it; bin/member-loader.ts loads it with V8's code cache).
// The polyfill stays first: libp2p calls Promise.withResolvers at run time.
import '../src/polyfills.js';
export { runMember } from '../site-agent/main.js';
