// The cache as an interface, the only shape the engine sees (as wireit's executor only sees
// its Cache): a local directory today, an OCI registry behind the same shape later. Keys map
// to records; records name content-addressed blobs. A store hands out local files: a remote
// one would download a hit before answering and upload a new blob when it is committed.
export {};
//# sourceMappingURL=store.js.map