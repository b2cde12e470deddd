// Lint rules, including the layering of DESIGN.md §6:
//  - src/core imports nothing outside src/core, no node: modules, and uses no
//    clock, timer, randomness or process;
//  - src/ (below the composition roots) never imports site-agent/ or arbitrator/;
//  - only process-runner.ts runs programs (node:child_process);
//  - no floating promises, no empty catch, anywhere.
import tseslint from 'typescript-eslint';

const coreBannedGlobals = [
  { name: 'Date', message: 'src/core is clock-free: time comes in as `now` (DESIGN.md §6).' },
  { name: 'performance', message: 'src/core is clock-free: time comes in as `now`.' },
  { name: 'setTimeout', message: 'src/core has no timers: expose nextDeadline() instead.' },
  { name: 'setInterval', message: 'src/core has no timers: expose nextDeadline() instead.' },
  { name: 'setImmediate', message: 'src/core has no timers.' },
  { name: 'queueMicrotask', message: 'src/core is synchronous.' },
  { name: 'process', message: 'src/core does no I/O and reads no environment.' },
  { name: 'require', message: 'src/core imports nothing outside itself.' },
];

// One way to run an external program: src/adapters/process-runner.ts. The
// other two files start long-lived daemons (the lease guard, the demo's
// agents), which are not runs to completion.
const childProcessAllowed = ['src/adapters/process-runner.ts', 'src/adapters/pacemaker/lease-guard.ts', 'src/cli/loopback-formation.ts'];
const childProcessBan = {
  name: 'node:child_process',
  message: 'Run programs through src/adapters/process-runner.ts (argv, timeout, signal, bounded output, typed result).',
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...coreBannedGlobals],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'src/core takes an injected seeded random source.' },
        { object: 'Date', property: 'now', message: 'src/core is clock-free.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'AwaitExpression', message: 'src/core is synchronous (no await).' },
        { selector: 'FunctionDeclaration[async=true]', message: 'src/core is synchronous.' },
        { selector: 'ArrowFunctionExpression[async=true]', message: 'src/core is synchronous.' },
        { selector: 'NewExpression[callee.name="Date"]', message: 'src/core is clock-free.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'src/core uses no node: modules (DESIGN.md §6).' },
            { regex: '^\\.\\./', message: 'src/core imports nothing outside src/core.' },
            { regex: '^[^.]', message: 'src/core imports no packages (only its own files).' },
          ],
        },
      ],
    },
  },
  {
    // TigerBeetle's and etcd's rule of thumb: a file a reader can hold in mind, a function on one screen.
    files: ['src/core/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 600 }],
      'max-lines-per-function': ['error', { max: 70 }],
    },
  },
  {
    // Being split into files by concept (issue 10); this exemption goes with it.
    files: ['src/core/gossip/swim.ts'],
    rules: { 'max-lines': 'off', 'max-lines-per-function': 'off' },
  },
  {
    // The core's subfolders (registry/, tickets/, gossip/, guardian/) reach the
    // core's shared files one level up, never further. The purity rules above
    // apply to them too (files: src/core/**).
    files: ['src/core/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'src/core uses no node: modules (DESIGN.md §6).' },
            { regex: '^\\.\\./\\.\\./', message: 'src/core imports nothing outside src/core.' },
            { regex: '^[^.]', message: 'src/core imports no packages (only its own files).' },
          ],
        },
      ],
    },
  },
  {
    // The registry is Raft only: it knows no tickets and no gossip (etcd's raft knows no application).
    files: ['src/core/registry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'src/core uses no node: modules (DESIGN.md §6).' },
            { regex: '^\\.\\./\\.\\./', message: 'src/core imports nothing outside src/core.' },
            { regex: '^[^.]', message: 'src/core imports no packages (only its own files).' },
            { regex: '^\\.\\./(tickets|gossip|guardian)/', message: 'src/core/registry is Raft only: it imports nothing from tickets/, gossip/ or guardian/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/core/**', ...childProcessAllowed],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [childProcessBan],
          patterns: [
            { group: ['**/site-agent/**', '**/arbitrator/**'], message: 'Only composition roots import concrete wiring.' },
          ],
        },
      ],
    },
  },
  {
    files: childProcessAllowed,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/site-agent/**', '**/arbitrator/**'], message: 'Only composition roots import concrete wiring.' },
          ],
        },
      ],
    },
  },
  {
    files: ['site-agent/**/*.ts', 'arbitrator/**/*.ts', 'bin/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [childProcessBan] }],
    },
  },
  {
    // The error base is the bottom layer: everything may import it, it imports nothing.
    files: ['src/errors.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '.', message: 'src/errors.ts is the bottom layer: it imports nothing.' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
