import { describe, expect, it } from 'vitest';
import {
  escapeReserved,
  isIdentifierName,
  isSafeIdentifier,
  methodPathName,
  operationName,
  toIdentifier,
  uniqueName,
} from '../src/naming/index.js';

describe('naming', () => {
  it.each([
    ['createRegistration', 'createRegistration'],
    ['get-accounts-for-enhanced-balance-sheet', 'getAccountsForEnhancedBalanceSheet'],
    ['meta/root', 'metaRoot'],
    ['repos/get-content', 'reposGetContent'],
    ['kyc-fill-in', 'kycFillIn'],
    ['KYC_Fill-in', 'KYC_FillIn'],
    ['Get Pet By ID', 'GetPetByID'],
    ['2fa-verify', '_2faVerify'],
    ['package', 'package_'],
    ['delete', 'delete_'],
    ['$ref', '$ref'],
    ['a.b.c', 'aBC'],
    ['---', 'unnamed'],
    ['émoji✓', 'moji'],
  ])('toIdentifier(%j) → %j', (input, output) => {
    expect(toIdentifier(input)).toBe(output);
    expect(isSafeIdentifier(toIdentifier(input))).toBe(true);
  });

  it.each([
    ['x', true, true],
    ['package', true, false],
    ['default', true, false],
    ['string', true, false],
    ['a-b', false, false],
    ['1a', false, false],
    ['_1', true, true],
  ])('%j: identifier name %s, safe binding %s', (name, identifierName, safe) => {
    expect(isIdentifierName(name)).toBe(identifierName);
    expect(isSafeIdentifier(name)).toBe(safe);
  });

  it.each([
    ['package', 'package_'],
    ['class', 'class_'],
    ['Package', 'Package'],
  ])('escapeReserved(%j) → %j', (input, output) => expect(escapeReserved(input)).toBe(output));

  it.each([
    [undefined, 'get', '/sessions', 'getSessions'],
    [undefined, 'put', '/sessions/{mediaSessionId}/status', 'putSessionsByMediaSessionIdStatus'],
    [undefined, 'get', '/v1.0/user-accounts/{account_id}', 'getV10UserAccountsByAccountId'],
    ['meta/root', 'get', '/', 'metaRoot'],
    ['---', 'post', '/things', 'postThings'],
    ['', 'post', '/things', 'postThings'],
  ] as const)('operationName(%j, %s, %s) → %j', (id, method, path, output) => {
    expect(operationName(id, method, path)).toBe(output);
  });

  it('methodPathName is stable and uniqueName collision-free', () => {
    expect(methodPathName('delete', '/')).toBe('delete');
    const taken = new Set<string>();
    expect(['getA', 'getA', 'getA2', 'getA'].map((n) => uniqueName(n, taken))).toEqual([
      'getA',
      'getA2',
      'getA22',
      'getA3',
    ]);
  });
});
