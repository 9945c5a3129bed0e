// The studio's screens. For now each is a placeholder that says what it will hold; later issues replace them.

/** Identifies a screen; also its `#/<id>` hash route. */
export type ScreenId = 'devices' | 'composer' | 'live' | 'compare' | 'history';

export interface ScreenInfo {
  id: ScreenId;
  title: string;
  /** One line under the title. */
  summary: string;
  /** What the finished screen will offer, shown as placeholder cards. */
  planned: readonly { title: string; text: string }[];
}

export const screens: readonly ScreenInfo[] = [
  {
    id: 'devices',
    title: 'Devices',
    summary: 'iPhones running the companion, the built-in simulated device and the baseline machine.',
    planned: [
      {
        title: 'Discovery',
        text: 'Companions found over Bonjour on the local network, with model and memory.',
      },
      {
        title: 'Pairing',
        text: 'Pair a phone with a one-time code; only a paired studio can start or read runs.',
      },
      { title: 'Health', text: 'Connection state, free memory and thermal state of each device.' },
    ],
  },
  {
    id: 'composer',
    title: 'Composer',
    summary: 'Write a prompt and choose the sampler and On-device Sora techniques for a run.',
    planned: [
      { title: 'Prompt & seed', text: 'Prompt, seed, steps and classifier-free guidance scale.' },
      {
        title: 'Techniques',
        text: 'Linear Proportional Leap, Temporal Dimension Token Merging, CI-DL budget.',
      },
      {
        title: 'Preflight',
        text: 'The block scheduler plan: peak memory and expected loads before you start.',
      },
    ],
  },
  {
    id: 'live',
    title: 'Live run',
    summary: 'Follow a run as the device streams its events.',
    planned: [
      { title: 'Progress', text: 'Stage, denoising step and LPL decisions as they happen.' },
      { title: 'Previews', text: 'Low-resolution frame previews while the sampler runs.' },
      { title: 'Memory', text: 'Resident blocks over time against the run’s memory budget.' },
    ],
  },
  {
    id: 'compare',
    title: 'Compare',
    summary: 'The on-device result next to the baseline run with the same initial noise.',
    planned: [
      { title: 'Side by side', text: 'Both videos in sync, frame by frame.' },
      { title: 'Metrics', text: 'PSNR, SSIM, temporal flicker and prompt adherence.' },
      { title: 'Cost', text: 'Latency and peak memory of each technique setting.' },
    ],
  },
  {
    id: 'history',
    title: 'History',
    summary: 'Past runs from their run folders, with settings, events and reports.',
    planned: [
      { title: 'Runs', text: 'Every run with its prompt, device, settings and outcome.' },
      { title: 'Replay', text: 'Step through a stored event log exactly as it arrived.' },
      { title: 'Reports', text: 'Export a comparison report as PDF.' },
    ],
  },
];

/** The screen for a location hash like `#/compare`; unknown hashes fall back to the first screen. */
export function screenFromHash(hash: string): ScreenInfo {
  const id = hash.replace(/^#\/?/, '');
  return screens.find((s) => s.id === id) ?? (screens[0] as ScreenInfo);
}

export function PlaceholderScreen({ screen }: { screen: ScreenInfo }) {
  return (
    <section className="screen" aria-labelledby={`screen-${screen.id}`}>
      <header className="screen-header">
        <h1 id={`screen-${screen.id}`}>{screen.title}</h1>
        <p className="screen-summary">{screen.summary}</p>
      </header>
      <div className="card-grid">
        {screen.planned.map((item) => (
          <article className="card" key={item.title}>
            <h2>{item.title}</h2>
            <p>{item.text}</p>
            <span className="badge">Coming soon</span>
          </article>
        ))}
      </div>
    </section>
  );
}
