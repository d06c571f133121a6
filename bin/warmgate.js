#!/usr/bin/env node
// Runs the TypeScript entry point through tsx so the CLI needs no build step.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('tsx/esm', pathToFileURL('./'));
await import('../src/main.ts');
