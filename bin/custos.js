#!/usr/bin/env node
// Entry for the installed `custos` command: runs the compiled CLI.
import('../dist/src/cli/index.js');
