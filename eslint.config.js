import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'var/**',
      'features/wall/public/vendor/**',
      'coverage/**',
      'test/.artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // One catalogue of error codes: code outside it names a code through Codes.GW_… or compares
    // classes, never a string literal (tests may assert on literal codes: they are the contract).
    files: ['core/**/*.ts', 'features/**/*.ts', 'app/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['core/error-catalogue.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/^GW_[A-Z_]+$/]',
          message:
            'Use Codes.GW_… or an error class from the error catalogue (core/errors.ts), not a string literal.',
        },
      ],
    },
  },
  {
    files: ['features/wall/public/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        localStorage: 'readonly',
        fetch: 'readonly',
        location: 'readonly',
        navigator: 'readonly',
        Audio: 'readonly',
        AudioContext: 'readonly',
        io: 'readonly',
        mpegts: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        URLSearchParams: 'readonly',
        HTMLElement: 'readonly',
        Event: 'readonly',
        KeyboardEvent: 'readonly',
        CSS: 'readonly',
        Node: 'readonly',
        getComputedStyle: 'readonly',
        requestAnimationFrame: 'readonly',
        queueMicrotask: 'readonly',
        Intl: 'readonly',
        URL: 'readonly',
        FormData: 'readonly',
      },
    },
  },
);
