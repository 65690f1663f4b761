// Registry credentials, found where docker, podman and skopeo keep them:
//   REGISTRY_AUTH_FILE (containers-auth.json(5): `auths`), then
//   $DOCKER_CONFIG/config.json or ~/.docker/config.json: `credHelpers[HOST]`, else
//   `credsStore`, else `auths[HOST]` (docker's own order; a helper is asked with
//   `docker-credential-NAME get`, the server on stdin, JSON {Username, Secret} on stdout).
// Nothing is written: logging in stays the job of `docker login` / `skopeo login`.
import { promises as fs } from 'node:fs';
import path from 'node:path';
/** `https://host/v1/` and `host` name the same registry in auth files. */
function hostOf(key) {
    return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '').toLowerCase();
}
async function readAuthFile(file) {
    let text;
    try {
        text = await fs.readFile(file, 'utf8');
    }
    catch {
        return undefined;
    }
    try {
        return JSON.parse(text);
    }
    catch (err) {
        throw new Error(`${file} is not valid JSON: ${err.message}`);
    }
}
function fromAuths(file, registry) {
    for (const [key, entry] of Object.entries(file?.auths ?? {})) {
        if (hostOf(key) !== registry)
            continue;
        if (entry.identitytoken)
            return { kind: 'identity-token', token: entry.identitytoken };
        if (entry.auth) {
            const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
            const colon = plain.indexOf(':');
            if (colon > 0)
                return { kind: 'basic', username: plain.slice(0, colon), password: plain.slice(colon + 1) };
        }
        if (entry.username !== undefined && entry.password !== undefined)
            return { kind: 'basic', username: entry.username, password: entry.password };
    }
    return undefined;
}
async function fromHelper(helper, registry, runner) {
    if (!/^[A-Za-z0-9._-]+$/.test(helper))
        throw new Error(`credential helper name "${helper}" is not a plain name`);
    const r = await runner.query([`docker-credential-${helper}`, 'get'], { input: Buffer.from(registry), okCodes: [0, 1] });
    // Exit 1 with "credentials not found": the helper has nothing for this registry.
    if (r.code !== 0)
        return undefined;
    let got;
    try {
        got = JSON.parse(r.stdout);
    }
    catch {
        throw new Error(`docker-credential-${helper} printed something that is not JSON`);
    }
    if (!got.Secret)
        return undefined;
    if (got.Username === '<token>')
        return { kind: 'identity-token', token: got.Secret };
    return { kind: 'basic', username: got.Username ?? '', password: got.Secret };
}
/** The credentials configured for `registry` (host[:port]), if any. */
export async function findCredentials(registry, env, runner) {
    if (env.REGISTRY_AUTH_FILE) {
        const found = fromAuths(await readAuthFile(env.REGISTRY_AUTH_FILE), registry);
        if (found)
            return found;
    }
    const dockerDir = env.DOCKER_CONFIG || (env.HOME ? path.join(env.HOME, '.docker') : undefined);
    if (!dockerDir)
        return undefined;
    const config = await readAuthFile(path.join(dockerDir, 'config.json'));
    if (!config)
        return undefined;
    const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => hostOf(k) === registry)?.[1];
    if (helper)
        return fromHelper(helper, registry, runner);
    if (config.credsStore) {
        const stored = await fromHelper(config.credsStore, registry, runner);
        if (stored)
            return stored;
    }
    return fromAuths(config, registry);
}
//# sourceMappingURL=credentials.js.map