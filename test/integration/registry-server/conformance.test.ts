// The OCI distribution spec 1.1, check by check, against `berth registry serve`: its four
// categories (pull, push, content discovery, content management) with the statuses,
// headers and error codes the spec prescribes. They cover each behaviour the published
// suite (distribution-spec's conformance/) checks, which needs a newer Go than this
// machine has; built by hand for Go 1.19 it passes against us, but is not part of the repo.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OCI_INDEX, OCI_MANIFEST, Oci, sha256, sha512 } from './oci.js';
import { type BerthRegistry, startBerthRegistry } from './serve.js';

let registry: BerthRegistry;
let oci: Oci;

before(async () => {
  registry = await startBerthRegistry();
  oci = new Oci(registry.url);
});
after(async () => {
  await registry?.stop();
});

function assertError(
  reply: { status: number; codes: string[]; body: Buffer },
  status: number,
  code: string,
): void {
  assert.equal(reply.status, status, reply.body.toString());
  assert.deepEqual(reply.codes, [code], reply.body.toString());
}

describe('pull', () => {
  const repo = 'conformance/pull';
  let image: Awaited<ReturnType<Oci['pushImageBlobs']>>;
  before(async () => {
    image = await oci.pushImageBlobs(repo);
    assert.equal((await oci.pushManifest(repo, 'v1', image.manifest)).status, 201);
  });

  test('GET /v2/ is 200 with the API version header', async () => {
    const r = await oci.request('GET', '/v2/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  test('a manifest by tag and by digest comes back byte for byte with its type and digest', async () => {
    for (const ref of ['v1', image.digest]) {
      const r = await oci.request('GET', `/v2/${repo}/manifests/${ref}`, {
        headers: { Accept: OCI_MANIFEST },
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), OCI_MANIFEST);
      assert.equal(r.headers.get('docker-content-digest'), image.digest);
      assert.deepEqual(r.body, image.manifest);
    }
  });

  test('HEAD of a manifest and a blob: 200, Content-Length, digest, no body', async () => {
    const m = await oci.request('HEAD', `/v2/${repo}/manifests/v1`);
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('content-length'), String(image.manifest.length));
    assert.equal(m.headers.get('docker-content-digest'), image.digest);
    assert.equal(m.body.length, 0);
    const b = await oci.request('HEAD', `/v2/${repo}/blobs/${image.layer}`);
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('content-length'), String(image.layerBytes.length));
    assert.equal(b.headers.get('docker-content-digest'), image.layer);
  });

  test('a blob comes back whole, with its digest', async () => {
    const r = await oci.request('GET', `/v2/${repo}/blobs/${image.layer}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), image.layer);
    assert.deepEqual(r.body, image.layerBytes);
  });

  const ranges: { range: string; start: number; end: number }[] = [
    { range: 'bytes=500-1499', start: 500, end: 1499 },
    { range: 'bytes=500-', start: 500, end: 2999 },
    { range: 'bytes=-500', start: 2500, end: 2999 },
    { range: 'bytes=2000-5000', start: 2000, end: 2999 },
  ];
  for (const { range, start, end } of ranges) {
    test(`Range ${range} is 206 with the matching Content-Range and bytes`, async () => {
      const r = await oci.request('GET', `/v2/${repo}/blobs/${image.layer}`, { headers: { Range: range } });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/3000`);
      assert.deepEqual(r.body, image.layerBytes.subarray(start, end + 1));
    });
  }
  for (const range of ['bytes=500-0', 'bytes=5000-10000', 'bytes=x-1']) {
    test(`Range ${range} is 416`, async () => {
      const r = await oci.request('GET', `/v2/${repo}/blobs/${image.layer}`, { headers: { Range: range } });
      assert.equal(r.status, 416);
      assert.equal(r.headers.get('content-range'), 'bytes */3000');
    });
  }

  test('missing content is 404 with MANIFEST_UNKNOWN / BLOB_UNKNOWN', async () => {
    assertError(await oci.request('GET', `/v2/${repo}/manifests/missing`), 404, 'MANIFEST_UNKNOWN');
    assertError(
      await oci.request('GET', `/v2/${repo}/manifests/${sha256(randomBytes(8))}`),
      404,
      'MANIFEST_UNKNOWN',
    );
    assertError(await oci.request('GET', `/v2/never/pushed/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
    assertError(await oci.request('GET', `/v2/${repo}/blobs/${sha256(randomBytes(8))}`), 404, 'BLOB_UNKNOWN');
    const head = await oci.request('HEAD', `/v2/${repo}/blobs/${sha256(randomBytes(8))}`);
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
  });

  test('a blob of another repository is not served here', async () => {
    assertError(await oci.request('GET', `/v2/conformance/other/blobs/${image.layer}`), 404, 'BLOB_UNKNOWN');
  });

  test('malformed references: bad digest 400 DIGEST_INVALID, bad name 400 NAME_INVALID', async () => {
    assertError(
      await oci.request('GET', `/v2/${repo}/manifests/sha256:baddigeststring`),
      400,
      'DIGEST_INVALID',
    );
    assertError(await oci.request('GET', `/v2/${repo}/blobs/md5:abc`), 400, 'DIGEST_INVALID');
    assertError(await oci.request('GET', '/v2/Upper/Case/manifests/v1'), 400, 'NAME_INVALID');
    assertError(await oci.request('GET', '/v2/a//b/tags/list'), 400, 'NAME_INVALID');
  });
});

describe('push', () => {
  const repo = 'conformance/push';

  test('POST then PUT: 202 with Location, then 201 with a pullable Location and the digest', async () => {
    const data = randomBytes(1234);
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(post.status, 202);
    const location = post.headers.get('location') ?? '';
    assert.match(location, new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]+$`));
    const put = await oci.request('PUT', `${location}?digest=${sha256(data)}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), sha256(data));
    const pulled = await oci.request('GET', put.headers.get('location') ?? '');
    assert.deepEqual(pulled.body, data);
  });

  test('a single POST with ?digest= stores the blob: 201', async () => {
    const data = randomBytes(500);
    const r = await oci.request('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/${repo}/blobs/${sha256(data)}`);
    assert.equal((await oci.request('HEAD', `/v2/${repo}/blobs/${sha256(data)}`)).status, 200);
  });

  test('chunked: PATCH in order 202 with Range, out of order and retried chunks 416, GET status 204, PUT closes', async () => {
    const data = randomBytes(2500);
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`, {
      headers: { 'Content-Length': '0' },
    });
    let location = post.headers.get('location') ?? '';
    const first = await oci.request('PATCH', location, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-999' },
      body: data.subarray(0, 1000),
    });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('range'), '0-999');
    location = first.headers.get('location') ?? '';
    const skipped = await oci.request('PATCH', location, {
      headers: { 'Content-Range': '1500-1999' },
      body: data.subarray(1500, 2000),
    });
    assertError(skipped, 416, 'BLOB_UPLOAD_INVALID');
    const retried = await oci.request('PATCH', location, {
      headers: { 'Content-Range': '0-999' },
      body: data.subarray(0, 1000),
    });
    assert.equal(retried.status, 416);
    const status = await oci.request('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-999');
    assert.equal(status.headers.get('location'), location);
    const second = await oci.request('PATCH', location, {
      headers: { 'Content-Range': '1000-1999' },
      body: data.subarray(1000, 2000),
    });
    assert.equal(second.headers.get('range'), '0-1999');
    const put = await oci.request('PUT', `${location}?digest=${sha256(data)}`, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '2000-2499' },
      body: data.subarray(2000),
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.deepEqual((await oci.request('GET', `/v2/${repo}/blobs/${sha256(data)}`)).body, data);
  });

  test('a streamed PATCH without Content-Range, then PUT with no body', async () => {
    const data = randomBytes(4000);
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`);
    const patch = await oci.request('PATCH', post.headers.get('location') ?? '', { body: data });
    assert.equal(patch.status, 202);
    assert.equal(patch.headers.get('range'), '0-3999');
    const put = await oci.request('PUT', `${patch.headers.get('location')}?digest=${sha256(data)}`);
    assert.equal(put.status, 201);
  });

  test('DELETE cancels an upload: 204, then 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`);
    const location = post.headers.get('location') ?? '';
    assert.equal((await oci.request('DELETE', location)).status, 204);
    assertError(await oci.request('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await oci.request('PATCH', location, { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await oci.request('GET', `/v2/${repo}/blobs/uploads/not-an-id`), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('an upload belongs to its repository', async () => {
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`);
    const id = (post.headers.get('location') ?? '').split('/').pop();
    assertError(
      await oci.request('GET', `/v2/conformance/elsewhere/blobs/uploads/${id}`),
      404,
      'BLOB_UPLOAD_UNKNOWN',
    );
  });

  test('cross-repository mount: 201 when the source has the blob, 202 (an upload) when not', async () => {
    const digest = await oci.pushBlob(repo, randomBytes(300));
    const mounted = await oci.request(
      'POST',
      `/v2/conformance/mounted/blobs/uploads/?mount=${digest}&from=${repo}`,
    );
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('location'), `/v2/conformance/mounted/blobs/${digest}`);
    assert.equal(mounted.headers.get('docker-content-digest'), digest);
    assert.equal((await oci.request('HEAD', `/v2/conformance/mounted/blobs/${digest}`)).status, 200);
    const missing = sha256(randomBytes(8));
    const fallback = await oci.request(
      'POST',
      `/v2/conformance/mounted/blobs/uploads/?mount=${missing}&from=${repo}`,
    );
    assert.equal(fallback.status, 202);
    assert.match(fallback.headers.get('location') ?? '', /\/blobs\/uploads\//);
  });

  test('a sha512 blob through ?digest-algorithm=sha512', async () => {
    const data = randomBytes(700);
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/?digest-algorithm=sha512`);
    assert.equal(post.status, 202);
    const put = await oci.request('PUT', `${post.headers.get('location')}?digest=${sha512(data)}`, {
      body: data,
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), sha512(data));
    assert.deepEqual((await oci.request('GET', `/v2/${repo}/blobs/${sha512(data)}`)).body, data);
  });

  test('content that does not match its digest is 400 DIGEST_INVALID and nothing is stored', async () => {
    const claimed = sha256(Buffer.from('what the client meant'));
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`);
    const location = post.headers.get('location') ?? '';
    const put = await oci.request('PUT', `${location}?digest=${claimed}`, { body: 'something else' });
    assertError(put, 400, 'DIGEST_INVALID');
    assert.equal((await oci.request('HEAD', `/v2/${repo}/blobs/${claimed}`)).status, 404);
    const single = await oci.request('POST', `/v2/${repo}/blobs/uploads/?digest=${claimed}`, {
      body: 'other',
    });
    assertError(single, 400, 'DIGEST_INVALID');
    assertError(
      await oci.request('PUT', `${location}?digest=sha256:nothex`, { body: 'x' }),
      400,
      'DIGEST_INVALID',
    );
    assertError(await oci.request('PUT', location), 400, 'DIGEST_INVALID');
  });

  test('a truncated chunk is cut back off: the upload resumes from its last whole chunk', async () => {
    const data = randomBytes(1000);
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`);
    const location = post.headers.get('location') ?? '';
    await oci.request('PATCH', location, {
      headers: { 'Content-Range': '0-499' },
      body: data.subarray(0, 500),
    });
    // A client that promises 500 bytes, sends 100 and drops the connection.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(new URL(registry.url).port), '127.0.0.1', () => {
        socket.write(
          `PATCH ${location} HTTP/1.1\r\nHost: ${registry.host}\r\nContent-Range: 500-999\r\nContent-Length: 500\r\n\r\n`,
        );
        socket.write(data.subarray(500, 600), () => socket.destroy());
      });
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    const status = await oci.request('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-499');
    // Closing it now would store a truncated blob: refused, nothing visible.
    assertError(await oci.request('PUT', `${location}?digest=${sha256(data)}`), 400, 'DIGEST_INVALID');
    assert.equal((await oci.request('HEAD', `/v2/${repo}/blobs/${sha256(data)}`)).status, 404);
    const rest = await oci.request('PUT', `${location}?digest=${sha256(data)}`, {
      headers: { 'Content-Range': '500-999' },
      body: data.subarray(500),
    });
    assert.equal(rest.status, 201);
  });

  test('manifest by tag and by digest: 201 with Location and Docker-Content-Digest', async () => {
    const image = await oci.pushImageBlobs(repo);
    const byTag = await oci.pushManifest(repo, 'tagged', image.manifest);
    assert.equal(byTag.status, 201);
    assert.equal(byTag.headers.get('docker-content-digest'), image.digest);
    assert.equal(byTag.headers.get('location'), `/v2/${repo}/manifests/${image.digest}`);
    const byDigest = await oci.pushManifest(repo, image.digest, image.manifest);
    assert.equal(byDigest.status, 201);
  });

  test('PUT manifest by digest with ?tag= adds the tags and says so in OCI-Tag', async () => {
    const image = await oci.pushImageBlobs(repo);
    const r = await oci.request('PUT', `/v2/${repo}/manifests/${image.digest}?tag=t1&tag=t2`, {
      headers: { 'Content-Type': OCI_MANIFEST },
      body: image.manifest,
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('oci-tag'), 't1, t2');
    assert.equal(
      (await oci.request('HEAD', `/v2/${repo}/manifests/t2`)).headers.get('docker-content-digest'),
      image.digest,
    );
  });

  test('an index of pushed manifests is accepted; one listing an unknown manifest is MANIFEST_BLOB_UNKNOWN', async () => {
    const image = await oci.pushImageBlobs(repo);
    await oci.pushManifest(repo, image.digest, image.manifest);
    const entry = { mediaType: OCI_MANIFEST, digest: image.digest, size: image.manifest.length };
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [entry] }));
    const ok = await oci.pushManifest(repo, 'multi', index, OCI_INDEX);
    assert.equal(ok.status, 201);
    const got = await oci.request('GET', `/v2/${repo}/manifests/multi`);
    assert.equal(got.headers.get('content-type'), OCI_INDEX);
    const bad = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ ...entry, digest: sha256(randomBytes(4)) }],
      }),
    );
    assertError(await oci.pushManifest(repo, 'multi-bad', bad, OCI_INDEX), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('a manifest pushed under the wrong digest is 400 DIGEST_INVALID, nothing stored', async () => {
    const image = await oci.pushImageBlobs(repo);
    const wrong = sha256(randomBytes(4));
    assertError(await oci.pushManifest(repo, wrong, image.manifest), 400, 'DIGEST_INVALID');
    assertError(
      await oci.pushManifest(repo, 'sha256:baddigeststring', image.manifest),
      400,
      'DIGEST_INVALID',
    );
    assertError(await oci.request('GET', `/v2/${repo}/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('a manifest referencing a missing blob is 400 MANIFEST_BLOB_UNKNOWN, nothing stored', async () => {
    const image = await oci.pushImageBlobs('conformance/elsewhere');
    const r = await oci.pushManifest(repo, 'orphan', image.manifest);
    assertError(r, 400, 'MANIFEST_BLOB_UNKNOWN');
    assertError(await oci.request('GET', `/v2/${repo}/manifests/orphan`), 404, 'MANIFEST_UNKNOWN');
    assertError(await oci.request('GET', `/v2/${repo}/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('malformed manifests and tags are 400 MANIFEST_INVALID', async () => {
    const image = await oci.pushImageBlobs(repo);
    assertError(await oci.pushManifest(repo, 'bad', Buffer.from('{not json')), 400, 'MANIFEST_INVALID');
    assertError(
      await oci.pushManifest(repo, 'bad', Buffer.from('{"schemaVersion":1}')),
      400,
      'MANIFEST_INVALID',
    );
    assertError(await oci.pushManifest(repo, 'bad', image.manifest, OCI_INDEX), 400, 'MANIFEST_INVALID');
    assertError(await oci.pushManifest(repo, '-bad-tag', image.manifest), 400, 'MANIFEST_INVALID');
    assertError(await oci.pushManifest(repo, 'x'.repeat(129), image.manifest), 400, 'MANIFEST_INVALID');
    assertError(await oci.request('GET', `/v2/${repo}/manifests/bad`), 404, 'MANIFEST_UNKNOWN');
  });

  test('a manifest over 4 MiB is 413 SIZE_INVALID', async () => {
    const image = await oci.pushImageBlobs(repo);
    const doc = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
    doc.annotations = { padding: 'x'.repeat(4 * 1024 * 1024) };
    const r = await oci.pushManifest(repo, 'huge', Buffer.from(JSON.stringify(doc)));
    assertError(r, 413, 'SIZE_INVALID');
    assertError(await oci.request('GET', `/v2/${repo}/manifests/huge`), 404, 'MANIFEST_UNKNOWN');
    // The connection is still good for the next request.
    assert.equal((await oci.request('GET', '/v2/')).status, 200);
  });

  test('a mount without from (anonymous): 201 when the registry has the blob, 202 (an upload) when not', async () => {
    const digest = await oci.pushBlob('conformance/anon-source', randomBytes(300));
    const mounted = await oci.request('POST', `/v2/conformance/anon/blobs/uploads/?mount=${digest}`);
    assert.equal(mounted.status, 201, mounted.body.toString());
    assert.equal(mounted.headers.get('location'), `/v2/conformance/anon/blobs/${digest}`);
    assert.equal(mounted.headers.get('docker-content-digest'), digest);
    assert.equal((await oci.request('HEAD', `/v2/conformance/anon/blobs/${digest}`)).status, 200);
    const missing = await oci.request(
      'POST',
      `/v2/conformance/anon/blobs/uploads/?mount=${sha256(randomBytes(8))}`,
    );
    assert.equal(missing.status, 202);
    assert.match(missing.headers.get('location') ?? '', /\/blobs\/uploads\//);
  });

  test('a zero-byte blob and the {} blob: pushed, HEAD with their length, GET, DELETE', async () => {
    for (const data of [Buffer.alloc(0), Buffer.from('{}')]) {
      const digest = await oci.pushBlob(repo, data);
      const head = await oci.request('HEAD', `/v2/${repo}/blobs/${digest}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(data.length));
      assert.equal(head.headers.get('docker-content-digest'), digest);
      const got = await oci.request('GET', `/v2/${repo}/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, data);
      assert.equal((await oci.request('DELETE', `/v2/${repo}/blobs/${digest}`)).status, 202);
      assert.equal((await oci.request('HEAD', `/v2/${repo}/blobs/${digest}`)).status, 404);
    }
  });

  test('out of order: a first chunk that skips ahead and a closing PUT that skips ahead are 416, the upload goes on', async () => {
    const data = randomBytes(3000);
    const post = await oci.request('POST', `/v2/${repo}/blobs/uploads/`, {
      headers: { 'Content-Length': '0' },
    });
    const location = post.headers.get('location') ?? '';
    const early = await oci.request('PATCH', location, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '1000-1999' },
      body: data.subarray(1000, 2000),
    });
    assertError(early, 416, 'BLOB_UPLOAD_INVALID');
    const empty = await oci.request('GET', location);
    assert.equal(empty.status, 204);
    assert.match(empty.headers.get('range') ?? '', /^0-0$/);
    const first = await oci.request('PATCH', location, {
      headers: { 'Content-Range': '0-999' },
      body: data.subarray(0, 1000),
    });
    assert.equal(first.status, 202);
    const skippingPut = await oci.request('PUT', `${location}?digest=${sha256(data)}`, {
      headers: { 'Content-Range': '2000-2999' },
      body: data.subarray(2000),
    });
    assert.equal(skippingPut.status, 416);
    assert.equal((await oci.request('HEAD', `/v2/${repo}/blobs/${sha256(data)}`)).status, 404);
    const status = await oci.request('GET', location);
    assert.equal(status.headers.get('range'), '0-999');
    await oci.request('PATCH', location, {
      headers: { 'Content-Range': '1000-1999' },
      body: data.subarray(1000, 2000),
    });
    const put = await oci.request('PUT', `${location}?digest=${sha256(data)}`, {
      headers: { 'Content-Range': '2000-2999' },
      body: data.subarray(2000),
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.deepEqual((await oci.request('GET', `/v2/${repo}/blobs/${sha256(data)}`)).body, data);
  });

  test('a wrong digest closing a chunked or a streamed upload is 400 DIGEST_INVALID, nothing stored', async () => {
    const data = randomBytes(2000);
    const claimed = sha256(Buffer.concat([data, Buffer.from('oh no')]));
    const chunked = (await oci.request('POST', `/v2/${repo}/blobs/uploads/`)).headers.get('location') ?? '';
    await oci.request('PATCH', chunked, {
      headers: { 'Content-Range': '0-999' },
      body: data.subarray(0, 1000),
    });
    const lastChunk = await oci.request('PUT', `${chunked}?digest=${claimed}`, {
      headers: { 'Content-Range': '1000-1999' },
      body: data.subarray(1000),
    });
    assertError(lastChunk, 400, 'DIGEST_INVALID');
    const streamed = (await oci.request('POST', `/v2/${repo}/blobs/uploads/`)).headers.get('location') ?? '';
    await oci.request('PATCH', streamed, { body: data });
    assertError(await oci.request('PUT', `${streamed}?digest=${claimed}`), 400, 'DIGEST_INVALID');
    assert.equal((await oci.request('HEAD', `/v2/${repo}/blobs/${claimed}`)).status, 404);
  });

  test('manifests as the suite pushes them: no layers, unpushed nondistributable layers, custom fields, data, nested index', async () => {
    const image = await oci.pushImageBlobs(repo);
    const doc = JSON.parse(image.manifest.toString()) as Record<string, unknown> & {
      config: Record<string, unknown>;
      layers: Record<string, unknown>[];
    };
    const foreign = randomBytes(100);
    const variants: Record<string, unknown>[] = [
      { ...doc, layers: [] },
      {
        ...doc,
        layers: [
          ...doc.layers,
          {
            mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
            digest: sha256(foreign),
            size: foreign.length,
            urls: ['https://example.invalid/layer'],
          },
        ],
      },
      { ...doc, 'org.example.custom': { nested: [1, 2] }, config: { ...doc.config, 'org.example.x': 'y' } },
      { ...doc, layers: doc.layers.map((l) => ({ ...l, data: image.layerBytes.toString('base64') })) },
    ];
    const children: { mediaType: string; digest: string; size: number }[] = [];
    for (const variant of variants) {
      // Pretty-printed: the registry must keep the exact bytes, not re-serialize them.
      const bytes = Buffer.from(JSON.stringify(variant, null, 2));
      const put = await oci.pushManifest(repo, sha256(bytes), bytes);
      assert.equal(put.status, 201, put.body.toString());
      const got = await oci.request('GET', `/v2/${repo}/manifests/${sha256(bytes)}`);
      assert.deepEqual(got.body, bytes);
      children.push({ mediaType: OCI_MANIFEST, digest: sha256(bytes), size: bytes.length });
    }
    const inner = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }),
    );
    assert.equal((await oci.pushManifest(repo, sha256(inner), inner, OCI_INDEX)).status, 201);
    const outer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_INDEX, digest: sha256(inner), size: inner.length }, children[0]],
      }),
    );
    const put = await oci.pushManifest(repo, 'nested', outer, OCI_INDEX);
    assert.equal(put.status, 201, put.body.toString());
    const got = await oci.request('GET', `/v2/${repo}/manifests/nested`, { headers: { Accept: OCI_INDEX } });
    assert.equal(got.headers.get('content-type'), OCI_INDEX);
    assert.deepEqual(got.body, outer);
  });

  test('a sha512 manifest: PUT and GET by its sha512 digest, referrers to a sha512 subject', async () => {
    const image = await oci.pushImageBlobs(repo);
    const put = await oci.pushManifest(repo, sha512(image.manifest), image.manifest);
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers.get('docker-content-digest'), sha512(image.manifest));
    const got = await oci.request('GET', `/v2/${repo}/manifests/${sha512(image.manifest)}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, image.manifest);
    const head = await oci.request('HEAD', `/v2/${repo}/manifests/${sha512(image.manifest)}`);
    assert.equal(head.headers.get('docker-content-digest'), sha512(image.manifest));
    const about = { digest: sha512(image.manifest), size: image.manifest.length };
    const referrer = await oci.pushImageBlobs(repo, {
      subject: about,
      artifactType: 'application/vnd.example.512',
    });
    const r = await oci.pushManifest(repo, sha512(referrer.manifest), referrer.manifest);
    assert.equal(r.headers.get('oci-subject'), about.digest);
    const list = await oci.request('GET', `/v2/${repo}/referrers/${about.digest}`);
    assert.deepEqual(
      list.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sha512(referrer.manifest)],
    );
  });

  test('a bad repository name on push is 400 NAME_INVALID', async () => {
    assertError(await oci.request('POST', '/v2/Bad_Name/blobs/uploads/'), 400, 'NAME_INVALID');
    assertError(await oci.request('PUT', '/v2/-bad/manifests/v1', { body: '{}' }), 400, 'NAME_INVALID');
  });
});

describe('content discovery', () => {
  const repo = 'conformance/discovery';
  const tags = ['a', 'B', 'c', 'd1', 'e'];
  let subject: Awaited<ReturnType<Oci['pushImageBlobs']>>;
  before(async () => {
    subject = await oci.pushImageBlobs(repo);
    for (const tag of tags) assert.equal((await oci.pushManifest(repo, tag, subject.manifest)).status, 201);
  });

  test('tags/list is every tag in byte order', async () => {
    const r = await oci.request('GET', `/v2/${repo}/tags/list`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { name: repo, tags: [...tags].sort() });
  });

  test('n and last paginate, with a Link to the next page', async () => {
    const first = await oci.request('GET', `/v2/${repo}/tags/list?n=2`);
    assert.deepEqual(first.json<{ tags: string[] }>().tags, ['B', 'a']);
    assert.equal(first.headers.get('link'), `</v2/${repo}/tags/list?n=2&last=a>; rel="next"`);
    const second = await oci.request('GET', `/v2/${repo}/tags/list?n=2&last=a`);
    assert.deepEqual(second.json<{ tags: string[] }>().tags, ['c', 'd1']);
    const last = await oci.request('GET', `/v2/${repo}/tags/list?n=2&last=d1`);
    assert.deepEqual(last.json<{ tags: string[] }>().tags, ['e']);
    assert.equal(last.headers.get('link'), null);
    const onlyLast = await oci.request('GET', `/v2/${repo}/tags/list?last=c`);
    assert.deepEqual(onlyLast.json<{ tags: string[] }>().tags, ['d1', 'e']);
    const none = await oci.request('GET', `/v2/${repo}/tags/list?n=0`);
    assert.deepEqual(none.json<{ tags: string[] }>().tags, []);
    assert.equal(none.headers.get('link'), null);
  });

  test('tags/list of an unknown repository is 404 NAME_UNKNOWN', async () => {
    assertError(await oci.request('GET', '/v2/conformance/nothing/tags/list'), 404, 'NAME_UNKNOWN');
  });

  test('referrers: OCI-Subject on push, an index of referrers, artifactType filter, empty when none', async () => {
    await oci.pushManifest(repo, subject.digest, subject.manifest);
    const about = { digest: subject.digest, size: subject.manifest.length };
    const sbom = await oci.pushImageBlobs(repo, {
      subject: about,
      artifactType: 'application/vnd.example.sbom.v1',
    });
    const sig = await oci.pushImageBlobs(repo, {
      subject: about,
      configType: 'application/vnd.example.sig.v1',
    });
    for (const referrer of [sbom, sig]) {
      const r = await oci.pushManifest(repo, referrer.digest, referrer.manifest);
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('oci-subject'), subject.digest);
    }
    const all = await oci.request('GET', `/v2/${repo}/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), OCI_INDEX);
    const index = all.json<{
      schemaVersion: number;
      mediaType: string;
      manifests: Record<string, unknown>[];
    }>();
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, OCI_INDEX);
    const byDigest = new Map(index.manifests.map((m) => [m.digest, m]));
    assert.equal(byDigest.size, 2);
    assert.equal(byDigest.get(sbom.digest)?.artifactType, 'application/vnd.example.sbom.v1');
    assert.equal(byDigest.get(sig.digest)?.artifactType, 'application/vnd.example.sig.v1');
    assert.equal(byDigest.get(sbom.digest)?.size, sbom.manifest.length);
    const annotations = byDigest.get(sbom.digest)?.annotations as Record<string, string> | undefined;
    assert.ok(annotations?.['org.example.nonce'], 'the referrer keeps its annotations');

    const filtered = await oci.request(
      'GET',
      `/v2/${repo}/referrers/${subject.digest}?artifactType=application/vnd.example.sbom.v1`,
    );
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(
      filtered.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sbom.digest],
    );

    const none = await oci.request('GET', `/v2/conformance/nowhere/referrers/${sha256(randomBytes(4))}`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json<{ manifests: unknown[] }>().manifests, []);
    assertError(await oci.request('GET', `/v2/${repo}/referrers/sha256:short`), 400, 'DIGEST_INVALID');
  });

  test('a referrer may be pushed before its subject', async () => {
    const ghost = { digest: sha256(randomBytes(16)), size: 10 };
    const early = await oci.pushImageBlobs(repo, {
      subject: ghost,
      artifactType: 'application/vnd.example.early',
    });
    const r = await oci.pushManifest(repo, early.digest, early.manifest);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('oci-subject'), ghost.digest);
    const list = await oci.request('GET', `/v2/${repo}/referrers/${ghost.digest}`);
    assert.deepEqual(
      list.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [early.digest],
    );
  });

  test('an index referrer is listed with the index media type and its artifactType, or with none', async () => {
    const subjectRef = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length };
    const child = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length };
    const typed = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        artifactType: 'application/vnd.example.index-artifact',
        manifests: [child],
        subject: subjectRef,
        annotations: { 'org.example.kind': 'typed' },
      }),
    );
    const untyped = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child], subject: subjectRef }),
    );
    for (const index of [typed, untyped]) {
      const r = await oci.pushManifest(repo, sha256(index), index, OCI_INDEX);
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers.get('oci-subject'), subject.digest);
    }
    const list = await oci.request('GET', `/v2/${repo}/referrers/${subject.digest}`);
    const byDigest = new Map(
      list.json<{ manifests: Record<string, unknown>[] }>().manifests.map((m) => [m.digest, m]),
    );
    assert.deepEqual(byDigest.get(sha256(typed)), {
      mediaType: OCI_INDEX,
      digest: sha256(typed),
      size: typed.length,
      artifactType: 'application/vnd.example.index-artifact',
      annotations: { 'org.example.kind': 'typed' },
    });
    const plain = byDigest.get(sha256(untyped));
    assert.equal(plain?.mediaType, OCI_INDEX);
    assert.equal('artifactType' in (plain ?? {}), false);
    const filtered = await oci.request(
      'GET',
      `/v2/${repo}/referrers/${subject.digest}?artifactType=application/vnd.example.index-artifact`,
    );
    assert.deepEqual(
      filtered.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sha256(typed)],
    );
  });

  test('referrers that do not fit in one manifest (4 MiB) come in pages linked by Link rel="next"', async () => {
    const pagedRepo = 'conformance/paged';
    const target = await oci.pushImageBlobs(pagedRepo);
    const about = { mediaType: OCI_MANIFEST, digest: target.digest, size: target.manifest.length };
    const base = JSON.parse((await oci.pushImageBlobs(pagedRepo)).manifest.toString()) as Record<
      string,
      unknown
    >;
    const pushed = new Set<string>();
    // Ten referrers with 450 KB of annotations each: 4.5 MB of descriptors in all.
    for (let i = 0; i < 10; i++) {
      const doc = {
        ...base,
        artifactType: i % 2 === 0 ? 'application/vnd.example.even' : 'application/vnd.example.odd',
        subject: about,
        annotations: { 'org.example.padding': `${i}`.repeat(450_000) },
      };
      const bytes = Buffer.from(JSON.stringify(doc));
      assert.equal((await oci.pushManifest(pagedRepo, sha256(bytes), bytes)).status, 201);
      pushed.add(sha256(bytes));
    }
    const collect = async (first: string) => {
      const seen: string[] = [];
      let next: string | undefined = first;
      let pages = 0;
      while (next !== undefined) {
        const page = await oci.request('GET', next);
        assert.equal(page.status, 200);
        assert.equal(page.headers.get('content-type'), OCI_INDEX);
        assert.ok(page.body.length <= 4 * 1024 * 1024, `a page of ${page.body.length} bytes`);
        seen.push(...page.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest));
        const link = page.headers.get('link');
        next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
        if (link !== null) assert.ok(next, link);
        pages++;
      }
      return { seen, pages };
    };
    const all = await collect(`/v2/${pagedRepo}/referrers/${target.digest}`);
    assert.equal(all.pages, 2);
    assert.deepEqual([...all.seen].sort(), [...pushed].sort());
    const even = await collect(
      `/v2/${pagedRepo}/referrers/${target.digest}?artifactType=application/vnd.example.even`,
    );
    assert.equal(even.seen.length, 5);
    assert.equal(even.pages, 1);
  });

  test('_catalog lists repositories in order, paginated with n/last and Link', async () => {
    const all = await oci.request('GET', '/v2/_catalog');
    const repositories = all.json<{ repositories: string[] }>().repositories;
    assert.ok(repositories.includes(repo), JSON.stringify(repositories));
    assert.deepEqual(repositories, [...repositories].sort());
    const page = await oci.request('GET', '/v2/_catalog?n=1');
    assert.deepEqual(page.json<{ repositories: string[] }>().repositories, repositories.slice(0, 1));
    assert.equal(
      page.headers.get('link'),
      `</v2/_catalog?n=1&last=${encodeURIComponent(repositories[0] ?? '')}>; rel="next"`,
    );
  });
});

describe('content management', () => {
  const repo = 'conformance/manage';

  test('DELETE of a tag: 202, the tag is gone, the manifest stays', async () => {
    const image = await oci.pushImageBlobs(repo);
    await oci.pushManifest(repo, 'keep', image.manifest);
    await oci.pushManifest(repo, 'drop', image.manifest);
    assert.equal((await oci.request('DELETE', `/v2/${repo}/manifests/drop`)).status, 202);
    assertError(await oci.request('GET', `/v2/${repo}/manifests/drop`), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await oci.request('GET', `/v2/${repo}/manifests/keep`)).status, 200);
    assert.equal((await oci.request('GET', `/v2/${repo}/manifests/${image.digest}`)).status, 200);
  });

  test('DELETE of a manifest by digest: 202, the digest and every tag on it are gone, and its referrer entry', async () => {
    const subject = await oci.pushImageBlobs(repo);
    await oci.pushManifest(repo, 'subject', subject.manifest);
    const referrer = await oci.pushImageBlobs(repo, {
      subject: { digest: subject.digest, size: subject.manifest.length },
      artifactType: 'application/vnd.example.x',
    });
    await oci.pushManifest(repo, 'referrer', referrer.manifest);
    assert.equal((await oci.request('DELETE', `/v2/${repo}/manifests/${referrer.digest}`)).status, 202);
    assert.equal((await oci.request('HEAD', `/v2/${repo}/manifests/${referrer.digest}`)).status, 404);
    assertError(await oci.request('GET', `/v2/${repo}/manifests/referrer`), 404, 'MANIFEST_UNKNOWN');
    const list = await oci.request('GET', `/v2/${repo}/referrers/${subject.digest}`);
    assert.deepEqual(list.json<{ manifests: unknown[] }>().manifests, []);
    assert.ok(
      !(await oci.request('GET', `/v2/${repo}/tags/list`))
        .json<{ tags: string[] }>()
        .tags.includes('referrer'),
    );
  });

  test('DELETE of a blob: 202, then 404 BLOB_UNKNOWN, and a second DELETE is 404', async () => {
    const digest = await oci.pushBlob(repo, randomBytes(100));
    assert.equal((await oci.request('DELETE', `/v2/${repo}/blobs/${digest}`)).status, 202);
    assertError(await oci.request('GET', `/v2/${repo}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    assertError(await oci.request('DELETE', `/v2/${repo}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  test('DELETE of unknown manifests is 404 MANIFEST_UNKNOWN', async () => {
    assertError(
      await oci.request('DELETE', `/v2/${repo}/manifests/${sha256(randomBytes(4))}`),
      404,
      'MANIFEST_UNKNOWN',
    );
    assertError(await oci.request('DELETE', `/v2/${repo}/manifests/nosuchtag`), 404, 'MANIFEST_UNKNOWN');
    assertError(await oci.request('DELETE', '/v2/conformance/none/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  test('an unsupported method is 405 UNSUPPORTED', async () => {
    assertError(await oci.request('POST', `/v2/${repo}/manifests/v1`), 405, 'UNSUPPORTED');
  });
});
