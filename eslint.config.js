// Lint rules, including the layering of DESIGN.md §6:
//  - src/core imports nothing outside src/core, no node: modules, and uses no
//    clock, timer, randomness or process;
//  - src/ (below the composition roots) never imports site-agent/ or arbitrator/;
//  - only process-runner.ts runs programs (node:child_process);
//  - src/adapters and src/ports import nothing from src/runtime or src/guardian;
//    src/runtime and src/guardian nothing from src/adapters (through src/ports);
//  - src/ports holds types only, imported from src/core;
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
// other three files start long-lived daemons (the lease guard, the demo's
// agents, the member `boothd daemon` starts in the background), which are not
// runs to completion.
const childProcessAllowed = ['src/adapters/process-runner.ts', 'src/adapters/pacemaker/lease-guard.ts', 'src/cli/loopback-formation.ts', 'src/cli/boothd.ts'];
const childProcessBan = {
  name: 'node:child_process',
  message: 'Run programs through src/adapters/process-runner.ts (argv, timeout, signal, bounded output, typed result).',
};

const compositionRootBan = { group: ['**/site-agent/**', '**/arbitrator/**'], message: 'Only composition roots import concrete wiring.' };
// From src/adapters or src/ports: `../runtime/`, `../../guardian/` (not `../core/guardian/`).
const noHostImports = {
  regex: '^(\\.\\./)+(runtime|guardian)/',
  message: 'src/adapters and src/ports import nothing from src/runtime or src/guardian: shared types live in src/ports.',
};
const noAdapterImports = {
  regex: '^(\\.\\./)+adapters/',
  message: 'src/runtime and src/guardian use adapters through src/ports; only the composition roots import concrete adapters.',
};
/** no-restricted-imports for a folder below the composition roots. */
function restrictedImports({ childProcess = true, patterns = [] }) {
  return ['error', { ...(childProcess ? { paths: [childProcessBan] } : {}), patterns: [compositionRootBan, ...patterns] }];
}

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
  // Below the composition roots, one no-restricted-imports per folder (a
  // later block replaces the rule, so each states all that applies to it).
  { files: ['src/**/*.ts'], ignores: ['src/core/**'], rules: { 'no-restricted-imports': restrictedImports({}) } },
  { files: ['src/cli/loopback-formation.ts', 'src/cli/boothd.ts'], rules: { 'no-restricted-imports': restrictedImports({ childProcess: false }) } },
  {
    // Adapters implement ports; they never reach up into the host code that uses them.
    files: ['src/adapters/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports({ patterns: [noHostImports] }) },
  },
  {
    files: ['src/adapters/process-runner.ts', 'src/adapters/pacemaker/lease-guard.ts'],
    rules: { 'no-restricted-imports': restrictedImports({ childProcess: false, patterns: [noHostImports] }) },
  },
  {
    // Host code (the pump, the admin service, the quorum guardian's loop and
    // executor) reaches adapters only through src/ports; the composition roots
    // hand it the concrete ones.
    files: ['src/runtime/**/*.ts', 'src/guardian/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports({ patterns: [noAdapterImports] }) },
  },
  {
    // The ports are the bottom layer above the core: types only, from the core and each other.
    files: ['src/ports/**/*.ts'],
    rules: {
      'no-restricted-imports': restrictedImports({
        patterns: [
          { regex: '^\\.\\./(?!core/)', message: 'src/ports imports only src/core (and other ports).' },
          { regex: '^[^.]', message: 'src/ports imports no packages and no node: modules.' },
        ],
      }),
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportDeclaration[importKind="value"]', message: 'src/ports holds types: `import type` only.' },
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
