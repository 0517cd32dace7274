// `node --import <this file>`: holds the loading of dist/cli/main.js for a while, so that a test can
// signal a daemon that is still starting — after src/cli.ts has begun listening, before anything
// else has loaded — on any machine, instead of guessing how long a start takes there.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
