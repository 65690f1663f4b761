// How a portable layer marks what it does to the layers below it (PRODUCT.md section 2):
// a whiteout is a character device 0/0, an opaque directory has trusted.overlay.opaque=y.
// Readers of raw layers and live upper dirs share these tests and the one setter.
import { nulSeparated } from './xattrs.js';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
export const REDIRECT_XATTR = 'trusted.overlay.redirect';
export const METACOPY_XATTR = 'trusted.overlay.metacopy';
export function isWhiteout(st) {
    return st.isCharacterDevice() && st.rdev === 0;
}
/** Whether a getfattr hex value (or quoted text) is the given text. */
export function xattrValueIs(value, text) {
    return value === `0x${Buffer.from(text).toString('hex')}` || value === `"${text}"`;
}
/** A getfattr hex value (`0x2f61`) or quoted text as bytes. */
export function xattrBytes(value) {
    if (value.startsWith('0x'))
        return Buffer.from(value.slice(2), 'hex');
    if (value.startsWith('0s'))
        return Buffer.from(value.slice(2), 'base64');
    return Buffer.from(value.replace(/^"|"$/g, ''));
}
/** Marks each directory opaque (paths are byte-path strings). */
export async function setOpaque(runner, dirs) {
    if (dirs.length === 0)
        return;
    await runner.run(['xargs', '-0', '-r', 'setfattr', '-h', '-n', OPAQUE_XATTR, '-v', 'y', '--'], { input: nulSeparated(dirs) });
}
/**
 * The overlay xattrs a layer to be stacked may carry: `opaque=y`. Anything else that only a
 * mount with redirects, metacopy or data-only layers follows makes a layer unreadable elsewhere.
 */
export function unportableOverlayXattr(attrs) {
    for (const [name, value] of attrs) {
        if (!name.startsWith('trusted.overlay.'))
            continue;
        if (name === OPAQUE_XATTR && xattrValueIs(value, 'y'))
            continue;
        if (name === REDIRECT_XATTR || name === METACOPY_XATTR || name === OPAQUE_XATTR || name === 'trusted.overlay.whiteout' || name === 'trusted.overlay.whiteouts') {
            return name;
        }
    }
    return undefined;
}
//# sourceMappingURL=overlay-marks.js.map