// Registry references: `HOST[:PORT]/REPO[:TAG|@sha256:HEX]`, as docker and skopeo write
// them. A reference always names its registry host: this tool never guesses Docker Hub for
// a bare name, so a typo cannot publish layers to somebody else's registry.
import { FailureError } from '../failure.js';
// Distribution spec: repository name components and the tag grammar (tags at most 128 characters).
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
export function parseReference(text, what = 'registry reference') {
    const bad = (why) => {
        throw new FailureError({ reason: 'usage', message: `${what} "${text}": ${why} (expected HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST])` });
    };
    let rest = text.trim();
    let digest;
    const at = rest.indexOf('@');
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest))
            bad('the digest is not sha256:64 hex digits');
    }
    const slash = rest.indexOf('/');
    if (slash <= 0)
        bad('no registry host');
    const registry = rest.slice(0, slash).toLowerCase();
    const hostLike = registry.includes('.') || registry.includes(':') || registry === 'localhost';
    if (!hostLike)
        bad(`"${registry}" is not a registry host (write it in full, e.g. ghcr.io/${rest})`);
    let repoPart = rest.slice(slash + 1);
    let tag;
    const colon = repoPart.lastIndexOf(':');
    if (colon >= 0) {
        tag = repoPart.slice(colon + 1);
        repoPart = repoPart.slice(0, colon);
        if (!TAG.test(tag))
            bad(`"${tag}" is not a valid tag`);
    }
    if (repoPart === '' || !repoPart.split('/').every((c) => COMPONENT.test(c)))
        bad('the repository must be lowercase path components');
    return { registry, repository: repoPart, tag, digest };
}
export function formatReference(r) {
    return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}
/** Whether the registry is on this machine: the only place plain HTTP is used without --insecure. */
export function isLoopback(registry) {
    const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
//# sourceMappingURL=reference.js.map