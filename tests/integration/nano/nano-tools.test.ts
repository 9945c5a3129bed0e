// Smoke test of the Open-Sora Nano training tool (tools/nano): a few seconds each of VAE and denoiser training in a
// tmp run dir, a resumed denoiser chunk, export, then checks of the bundle (files, exact Open-Sora key names and
// shapes from the safetensors headers, tokenizer.json through @huggingface/tokenizers) and of the model code against
// the T5 / VAE golden fixtures. Needs Debian's python3-torch under /usr/bin/python3; skipped with the reason otherwise.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env, encoding: 'utf8', timeout: 60_000 });
const torchAvailable = probe.status === 0;
const skipReason = torchAvailable
  ? ''
  : `${PYTHON} cannot import torch/numpy (apt-get install python3-torch python3-numpy): ${(probe.stderr ?? String(probe.error ?? '')).trim().split('\n').pop() ?? ''}`;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function readHeader(path: string): Record<string, HeaderEntry> {
  const buf = readFileSync(path);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Record<string, HeaderEntry>;
  delete header.__metadata__;
  return header;
}

function py(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { cwd: repoRoot, env, encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function logLines(run: string): Record<string, unknown>[] {
  return readFileSync(join(run, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('tools/nano (Open-Sora Nano training tool)', () => {
  if (!torchAvailable) console.warn(`skipping nano tools test: ${skipReason}`);
  const dir = torchAvailable ? mkdtempSync(join(tmpdir(), 'nano-')) : '';
  const run = join(dir, 'run');
  const out = join(dir, 'bundle');
  /** A new run folder holding only the autoencoder of the run trained below (the later denoiser runs start there). */
  const runWithVae = (name: string): string => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    copyFileSync(join(run, 'vae.pt'), join(d, 'vae.pt'));
    return d;
  };
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!torchAvailable)(
    'model code matches the T5 and VAE golden fixtures',
    () => {
      const r = py(['tools/nano/check_fixtures.py']);
      expect(r.status, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout) as {
        ok: boolean;
        t5_max_abs_err: number;
        vae_spatial_max_abs_err: number;
      };
      expect(rep.t5_max_abs_err).toBeLessThan(1e-4);
      expect(rep.vae_spatial_max_abs_err).toBeLessThan(1e-4);
    },
    30_000,
  );

  it.skipIf(!torchAvailable)(
    'every data preset renders clips the scorers read as their captions',
    () => {
      for (const travel of ['v0', 'wide', 'short', 'drift']) {
        const r = py([
          'tools/nano/train.py',
          'eval',
          '--run',
          join(dir, `gt-${travel}`),
          '--n',
          '48',
          '--travel',
          travel,
        ]);
        expect(r.status, r.stderr).toBe(0);
        const rep = JSON.parse(r.stdout) as { travel: string; ground_truth: Record<string, number> };
        expect(rep.travel).toBe(travel);
        for (const k of ['colour', 'shape', 'motion', 'background'])
          expect(rep.ground_truth[k], `${travel} ${k}`).toBeGreaterThanOrEqual(0.95);
      }
    },
    60_000,
  );

  it.skipIf(!torchAvailable)(
    'trains vae and dit briefly, resumes, and exports a bundle with the Open-Sora key names',
    () => {
      let r = py(['tools/nano/train.py', 'vae', '--run', run, '--minutes', '0.2', '--log-seconds', '5']);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(run, 'vae.pt'))).toBe(true);

      const ditArgs = ['--run', run, '--log-seconds', '5', '--eval-minutes', '100', '--eval-clips', '2'];
      r = py(['tools/nano/train.py', 'dit', ...ditArgs, '--minutes', '0.2', '--eval-steps', '2']);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(run, 'dit.pt'))).toBe(true);
      expect(existsSync(join(run, 'dit_best.pt'))).toBe(true);
      const firstEnd = logLines(run).filter((l) => l.stage === 'dit' && l.event === 'end')[0];
      const firstSteps = Number(firstEnd?.step);
      expect(firstSteps).toBeGreaterThan(0);

      // second chunk resumes from the checkpoint
      r = py(['tools/nano/train.py', 'dit', ...ditArgs, '--minutes', '0.05', '--final-eval', '0']);
      expect(r.status, r.stderr).toBe(0);
      const lines = logLines(run);
      const starts = lines.filter((l) => l.stage === 'dit' && l.event === 'start');
      expect(starts[1]?.resumed).toBe(true);
      expect(starts[1]?.step).toBe(firstSteps);
      const ends = lines.filter((l) => l.stage === 'dit' && l.event === 'end');
      expect(Number(ends[1]?.step)).toBeGreaterThan(firstSteps);
      for (const l of lines.filter((x) => x.loss !== undefined))
        expect(Number.isFinite(Number(l.loss))).toBe(true);
      // three files per checkpoint: weights + state, EMA, optimizer (each small enough for a GPU round trip)
      for (const f of ['dit.pt', 'dit_ema.pt', 'dit_opt.pt']) expect(existsSync(join(run, f)), f).toBe(true);
      expect(starts[1]?.optimizer_restored).toBe(true);
      expect(starts[1]?.warmup_from).toBe(0);

      // a checkpoint without its optimizer (the committed form) resumes with fresh moments and a new warm-up, and
      // --schedule-auto sizes the cosine from the measured speed
      rmSync(join(run, 'dit_opt.pt'));
      const secondEnd = Number(ends[1]?.step);
      r = py([
        'tools/nano/train.py',
        'dit',
        ...ditArgs,
        // Long enough for the first step to finish on a busy machine: the schedule is fixed after that step, and
        // a loop that runs out of time during it never writes one.
        '--minutes',
        '0.3',
        '--final-eval',
        '0',
        '--schedule-auto',
        '1',
        '--lr-final',
        '1e-5',
      ]);
      expect(r.status, r.stderr).toBe(0);
      const third = logLines(run).filter((l) => l.stage === 'dit');
      const thirdStart = third.filter((l) => l.event === 'start')[2];
      expect(thirdStart?.optimizer_restored).toBe(false);
      expect(thirdStart?.warmup_from).toBe(secondEnd);
      const sched = third.find((l) => l.event === 'schedule');
      expect(Number(sched?.schedule_steps)).toBeGreaterThanOrEqual(1);
      expect(existsSync(join(run, 'dit_opt.pt'))).toBe(true);

      // --device cuda on a machine without CUDA: a clear refusal, not a traceback
      const cuda = py(['-c', 'import torch; print(torch.cuda.is_available())']);
      if (cuda.stdout.trim() === 'False') {
        r = py(['tools/nano/train.py', 'dit', ...ditArgs, '--minutes', '0.01', '--device', 'cuda']);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain('--device cuda: torch sees no CUDA device');
      }

      r = py(['tools/nano/export.py', '--run', run, '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout) as { ok: boolean; total_bytes: number };
      expect(rep.ok).toBe(true);
      expect(rep.total_bytes).toBeLessThan(25e6);

      for (const f of [
        'text_encoder/model.safetensors',
        'text_encoder/config.json',
        'text_encoder/tokenizer.json',
        'vae/model.safetensors',
        'vae/config.json',
        'stdit/model.safetensors',
        'stdit/config.json',
        'model_card.md',
        'manifest.json',
      ])
        expect(existsSync(join(out, f)), f).toBe(true);

      // text encoder: HF T5EncoderModel names
      const t5 = readHeader(join(out, 'text_encoder/model.safetensors'));
      const t5cfg = JSON.parse(readFileSync(join(out, 'text_encoder/config.json'), 'utf8')) as {
        vocab_size: number;
        d_model: number;
        num_layers: number;
        num_heads: number;
      };
      expect(t5['shared.weight']?.shape).toEqual([t5cfg.vocab_size, t5cfg.d_model]);
      for (let i = 0; i < t5cfg.num_layers; i++) {
        const p = `encoder.block.${i}.layer`;
        for (const k of ['q', 'k', 'v', 'o'])
          expect(t5[`${p}.0.SelfAttention.${k}.weight`], `${i}.${k}`).toBeDefined();
        for (const k of [
          '0.layer_norm',
          '1.DenseReluDense.wi_0',
          '1.DenseReluDense.wi_1',
          '1.DenseReluDense.wo',
          '1.layer_norm',
        ])
          expect(t5[`${p}.${k}.weight`], `${i}.${k}`).toBeDefined();
        expect(t5[`${p}.0.SelfAttention.relative_attention_bias.weight`] !== undefined).toBe(i === 0);
      }
      expect(t5['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight']?.shape).toEqual([
        32,
        t5cfg.num_heads,
      ]);
      expect(t5['encoder.final_layer_norm.weight']?.shape).toEqual([t5cfg.d_model]);

      // VAE: OpenSoraVAE_V1_2 top level + diffusers AutoencoderKL names, no temporal VAE
      const vae = readHeader(join(out, 'vae/model.safetensors'));
      const vcfg = JSON.parse(readFileSync(join(out, 'vae/config.json'), 'utf8')) as {
        temporal: boolean;
        spatial_vae: { block_out_channels: number[]; layers_per_block: number; norm_num_groups: number };
      };
      expect(vcfg.temporal).toBe(false);
      expect(vae.scale?.shape).toEqual([1, 4, 1, 1, 1]);
      expect(vae.shift?.shape).toEqual([1, 4, 1, 1, 1]);
      expect(Object.keys(vae).some((k) => k.startsWith('temporal_vae.'))).toBe(false);
      const d = 'spatial_vae.module.decoder';
      const nUp = vcfg.spatial_vae.block_out_channels.length;
      for (const k of [
        'spatial_vae.module.post_quant_conv.weight',
        'spatial_vae.module.quant_conv.weight',
        'spatial_vae.module.encoder.conv_in.weight',
        `${d}.conv_in.weight`,
        `${d}.mid_block.resnets.0.norm1.weight`,
        `${d}.mid_block.resnets.1.conv2.weight`,
        ...['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0'].map(
          (m) => `${d}.mid_block.attentions.0.${m}.weight`,
        ),
        `${d}.conv_norm_out.weight`,
        `${d}.conv_out.weight`,
      ])
        expect(vae[k], k).toBeDefined();
      for (let j = 0; j < nUp; j++) {
        for (let k = 0; k <= vcfg.spatial_vae.layers_per_block; k++)
          for (const m of ['norm1', 'conv1', 'norm2', 'conv2'])
            expect(vae[`${d}.up_blocks.${j}.resnets.${k}.${m}.weight`]).toBeDefined();
        expect(vae[`${d}.up_blocks.${j}.upsamplers.0.conv.weight`] !== undefined).toBe(j < nUp - 1);
      }
      expect(vae[`${d}.conv_out.weight`]?.shape).toEqual([3, vcfg.spatial_vae.block_out_channels[0], 3, 3]);

      // STDiT3: spec section 2 names, 21 + depth*2*17 entries
      const dit = readHeader(join(out, 'stdit/model.safetensors'));
      const scfg = JSON.parse(readFileSync(join(out, 'stdit/config.json'), 'utf8')) as {
        depth: number;
        hidden_size: number;
        model_max_length: number;
        caption_channels: number;
        sampling: { use_timestep_transform: boolean };
      };
      expect(Object.keys(dit).length).toBe(21 + scfg.depth * 2 * 17);
      expect(dit['x_embedder.proj.weight']?.shape).toEqual([scfg.hidden_size, 4, 1, 2, 2]);
      expect(dit['y_embedder.y_embedding']?.shape).toEqual([scfg.model_max_length, scfg.caption_channels]);
      expect(scfg.caption_channels).toBe(t5cfg.d_model);
      expect(dit['final_layer.linear.weight']?.shape).toEqual([32, scfg.hidden_size]);
      expect(dit['rope.freqs']).toBeDefined();
      expect(dit[`temporal_blocks.${scfg.depth - 1}.attn.q_norm.weight`]).toBeDefined();
      expect(scfg.sampling.use_timestep_transform).toBe(false);

      // tokenizer.json loads in @huggingface/tokenizers and matches the Python tokenizer
      const tj = JSON.parse(readFileSync(join(out, 'text_encoder/tokenizer.json'), 'utf8')) as object;
      const tc = JSON.parse(readFileSync(join(out, 'text_encoder/tokenizer_config.json'), 'utf8')) as object;
      const tok = new Tokenizer(tj, tc);
      const prompt = 'A Red circle moving right on a black background';
      const ids = tok.encode(prompt).ids;
      const pr = py([
        '-c',
        `import sys; sys.path.insert(0, 'tools/nano'); import data; i, m = data.tokenize([${JSON.stringify(prompt)}]); print(i[0][m[0] == 1].tolist())`,
      ]);
      expect(pr.status, pr.stderr).toBe(0);
      expect([...ids, 1]).toEqual(JSON.parse(pr.stdout) as number[]);
      expect(ids).not.toContain(2);
    },
    150_000,
  );

  it.skipIf(!torchAvailable)(
    'a 17-frame run with 2-frame temporal patches starts from the 16-frame run (inflated) and exports its sizes',
    () => {
      // needs the vae.pt / dit_ema.pt of the run trained above
      const run2 = runWithVae('run-pt2');
      const out2 = join(dir, 'bundle-pt2');
      let r = py([
        'tools/nano/train.py',
        'dit',
        '--run',
        run2,
        '--minutes',
        '0.05',
        '--eval-minutes',
        '0',
        '--frames',
        '17',
        '--dit-config',
        '{"patch_size": [2, 2, 2]}',
        '--init-from',
        run,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const start = logLines(run2).find((l) => l.event === 'start') as {
        frames: number;
        tokens: number;
        init_from: { copied: number; inflated: string[]; skipped: string[] };
      };
      expect(start.frames).toBe(17);
      expect(start.tokens).toBe(9 * 16); // ceil(17 / 2) temporal tokens x 4 x 4
      expect(start.init_from.inflated.sort()).toEqual([
        'final_layer.linear.bias',
        'final_layer.linear.weight',
        'x_embedder.proj.weight',
      ]);
      expect(start.init_from.skipped).toEqual([]);
      expect(start.init_from.copied).toBeGreaterThan(100);

      r = py(['tools/nano/export.py', '--run', run2, '--out', out2, '--weights', 'ema']);
      expect(r.status, r.stderr).toBe(0);
      const scfg = JSON.parse(readFileSync(join(out2, 'stdit/config.json'), 'utf8')) as {
        patch_size: number[];
        sampling: { num_frames: number; tokens: number; latent_size: number[] };
      };
      expect(scfg.patch_size).toEqual([2, 2, 2]);
      expect(scfg.sampling.num_frames).toBe(17);
      expect(scfg.sampling.tokens).toBe(144);
      expect(scfg.sampling.latent_size[1]).toBe(17);
      expect(readHeader(join(out2, 'stdit/model.safetensors'))['x_embedder.proj.weight']?.shape).toEqual([
        128, 4, 2, 2, 2,
      ]);
    },
    90_000,
  );
  it.skipIf(!torchAvailable)(
    'a mixed-length run trains on short clips too, and a resumed chunk keeps the short stream',
    () => {
      // needs the vae.pt of the run trained above
      const run3 = runWithVae('run-mixed');
      const args = ['tools/nano/train.py', 'dit', '--run', run3, '--eval-minutes', '0', '--log-seconds', '1'];
      let r = py([...args, '--minutes', '0.05', '--short-frames', '5', '--short-frac', '0.25']);
      expect(r.status, r.stderr).toBe(0);
      const shortState = () => {
        const probe = py([
          '-c',
          `import torch; ck = torch.load(${JSON.stringify(join(run3, 'dit.pt'))}); ` +
            'g = torch.Generator(); g.set_state(ck["data_short"]["g"]); ' +
            'print(ck["short_frames"], ck["step"], torch.rand(1, generator=g).item())',
        ]);
        expect(probe.status, probe.stderr).toBe(0);
        const [frames = NaN, step = NaN, g = NaN] = probe.stdout.trim().split(' ').map(Number);
        return { frames, step, g };
      };
      const first = shortState();
      expect(first.frames).toBe(5);
      expect(first.step).toBeGreaterThan(0);
      r = py([...args, '--minutes', '0.03', '--final-eval', '0']); // no --short-frames: the checkpoint's
      expect(r.status, r.stderr).toBe(0);
      const starts = logLines(run3).filter((l) => l.event === 'start') as {
        short_frames: number;
        resumed: boolean;
      }[];
      expect(starts.map((s) => [s.short_frames, s.resumed])).toEqual([
        [5, false],
        [5, true],
      ]);
      const second = shortState();
      expect(second.step).toBeGreaterThan(first.step);
      expect(second.g).not.toBe(first.g); // the short stream moved on after the resume (its next draw differs)
    },
    90_000,
  );
  it.skipIf(!torchAvailable)(
    'a 64 px run keeps its frame size across a resume and exports a 64 x 64 bundle',
    () => {
      // needs the vae.pt of the run trained above (the VAE is convolutional: the same weights at 64 px)
      const run4 = runWithVae('run-64');
      const out4 = join(dir, 'export-64');
      const args = ['tools/nano/train.py', 'dit', '--run', run4, '--eval-minutes', '0', '--frames', '4'];
      let r = py([...args, '--minutes', '0.02', '--size', '48']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--size: invalid choice: 48/);
      r = py([...args, '--minutes', '0.02', '--size', '64']);
      expect(r.status, r.stderr).toBe(0);
      r = py([...args, '--minutes', '0.02']); // no --size: the checkpoint's
      expect(r.status, r.stderr).toBe(0);
      const starts = logLines(run4).filter((l) => l.event === 'start') as {
        size: number;
        tokens: number;
        resumed: boolean;
      }[];
      expect(starts.map((s) => [s.size, s.tokens, s.resumed])).toEqual([
        [64, 4 * 8 * 8, false],
        [64, 4 * 8 * 8, true],
      ]);

      r = py(['tools/nano/export.py', '--run', run4, '--out', out4, '--weights', 'ema']);
      expect(r.status, r.stderr).toBe(0);
      const scfg = JSON.parse(readFileSync(join(out4, 'stdit/config.json'), 'utf8')) as {
        sampling: { height: number; width: number; latent_size: number[]; tokens: number };
      };
      expect([scfg.sampling.height, scfg.sampling.width]).toEqual([64, 64]);
      expect(scfg.sampling.latent_size).toEqual([4, 4, 16, 16]);
      expect(scfg.sampling.tokens).toBe(256);
      const vcfg = JSON.parse(readFileSync(join(out4, 'vae/config.json'), 'utf8')) as {
        clip: { height: number; width: number; latent: number[] };
      };
      expect(vcfg.clip).toMatchObject({ height: 64, width: 64, latent: [4, 4, 16, 16] });
    },
    90_000,
  );
});
