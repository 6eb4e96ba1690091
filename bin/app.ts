#!/usr/bin/env node
// CDK app entry (cdk.json: `npx tsx bin/app.ts`). Configuration is CDK context: see docs/deploy.md.
import './require-node.js'; // first: refuses a Node older than 24
import { App } from 'aws-cdk-lib';
import { addSluiceStack } from '../lib/app.js';

const app = new App();
addSluiceStack(app);
app.synth();
