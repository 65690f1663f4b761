// The errno of a failed @napi-rs/xattr call, as apply-plain.ts reads it.

import { listAttributesSync } from '@napi-rs/xattr';
import { describe, expect, it } from 'vitest';
import { osErrno } from '../../src/layer/native-xattrs.js';

describe('osErrno', () => {
  it('reads the errno at the end of the library message', () => {
    expect(osErrno(new Error('No data available (os error 61)'))).toBe(61);
    expect(osErrno(new Error('something else'))).toBeUndefined();
    let thrown: unknown;
    try {
      listAttributesSync('/nonexistent/sqsh-layers-test');
    } catch (err) {
      thrown = err;
    }
    expect(osErrno(thrown)).toBe(2);
  });
});
