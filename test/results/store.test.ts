import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecords, loadEpochs, validateRecord, RecordIndex } from '../../src/results/store.js';
import { fakeRecord } from './fixtures.js';

test('loadRecords returns finished runs, skips unfinished, reports broken ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-store-'));
  try {
    const write = async (id: string, body: string) => {
      await mkdir(join(dir, id));
      await writeFile(join(dir, id, 'run.json'), body);
    };
    await write('b-run', JSON.stringify(fakeRecord({ runId: 'b-run', method: 'focal', epochs: 10, top1: 50 })));
    await write('a-run', JSON.stringify(fakeRecord({ runId: 'a-run', method: 'softmax', epochs: 10, top1: 40 })));
    await write('running', JSON.stringify(fakeRecord({ runId: 'running', method: 'softmax', epochs: 10, top1: 1, status: 'running' })));
    await write('torn', '{"schemaVersion": 1, "runId": ');
    await write('bad', JSON.stringify({ ...fakeRecord({ runId: 'bad', method: 'x', epochs: 1, top1: 1 }), epochs: 'ten' }));
    await mkdir(join(dir, 'reference')); // no run.json: ignored
    await writeFile(join(dir, 'notes.txt'), 'not a run');

    const { records, problems, skipped } = await loadRecords(dir);
    assert.deepEqual(records.map((r) => r.runId), ['a-run', 'b-run']);
    assert.deepEqual(skipped, ['running (test/softmax-e10, 10 epochs): status running']);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /bad[/\\]run\.json: malformed run record: epochs: expected a number/);
    assert.match(problems[1], /torn[/\\]run\.json: not valid JSON/);

    const all = await loadRecords(dir, { includeUnfinished: true });
    assert.equal(all.records.length, 3);
    const index = new RecordIndex(records);
    assert.equal(index.get('b-run')?.method.name, 'focal');
    assert.deepEqual(index.query({ method: 'softmax' }).map((r) => r.runId), ['a-run']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadRecords reports a missing results directory', async () => {
  const { records, problems } = await loadRecords('/nonexistent/lt-bench-results');
  assert.equal(records.length, 0);
  assert.match(problems[0], /cannot read results directory/);
});

test('validateRecord names the key path of each problem', () => {
  assert.deepEqual(validateRecord(fakeRecord({ runId: 'x', method: 'softmax', epochs: 1, top1: 1 })), []);
  const broken = { ...fakeRecord({ runId: 'x', method: 'softmax', epochs: 1, top1: 1 }), table7: { stage1Loss: 'focal', classifier: 'knn' } };
  assert.deepEqual(validateRecord(broken), ['table7: expected {stage1Loss: string, classifier: joint|ncm|crt|lws|tau-norm}']);
  assert.deepEqual(validateRecord(null), ['not a JSON object']);
});

test('loadEpochs keeps the last line per epoch and reports a torn line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-epochs-'));
  try {
    const line = (epoch: number, loss: number) => JSON.stringify({ epoch, lr: 0.1, trainLoss: loss, trainAcc: 0, valTop1: 0, valGroups: { head: null, middle: null, tail: null }, seconds: 1, imagesPerSec: 1, numTensors: 1 });
    await writeFile(join(dir, 'epochs.jsonl'), [line(1, 2), line(2, 1.5), line(2, 1.4), '{"epoch": 3, "lr"'].join('\n'));
    const { lines, problems } = await loadEpochs(dir);
    assert.deepEqual(lines.map((l) => [l.epoch, l.trainLoss]), [[1, 2], [2, 1.4]]);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /epochs\.jsonl:4: skipped/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
