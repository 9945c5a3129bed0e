// The studio shell: nav, the current screen (`#/<screen>[/<param>…]` hash routes), and what the host reports
// about itself (`app.info`). Every screen reaches main through React Query over the typed contract.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { StudioConnection } from './api';
import { useRoute } from './routes';
import { CurrentScreen, screens } from './screens';
import { errorText } from './studio/format';
import { appInfoQuery, createStudioQueryClient } from './studio/queries';
import { StudioProvider, useStudio } from './studio/studio-context';

function VersionPanel() {
  const { api } = useStudio();
  const info = useQuery(appInfoQuery(api));
  if (info.isPending) return <p className="versions muted">Connecting…</p>;
  if (info.isError) {
    return (
      <p className="versions error" role="alert">
        Studio unavailable: {errorText(info.error)}
      </p>
    );
  }
  const d = info.data;
  const host = d.platform === 'electron' ? `Electron ${d.electron ?? ''}`.trim() : 'Web (browser)';
  return (
    <dl className="versions">
      <dt>App</dt>
      <dd>v{d.appVersion}</dd>
      <dt>Engine</dt>
      <dd>v{d.engineVersion}</dd>
      <dt>Host</dt>
      <dd>{host}</dd>
      {d.gitCommit !== null && (
        <>
          <dt>Commit</dt>
          <dd>{d.gitCommit.slice(0, 10)}</dd>
        </>
      )}
    </dl>
  );
}

function MissingToken() {
  return (
    <section className="screen">
      <header className="screen-header">
        <h1>Open the studio from its launch link</h1>
        <p className="screen-summary">
          This page needs the one-time token that <code>odsora studio --web</code> prints when it starts. Open
          the full URL it printed (it ends in <code>?token=…</code>, or <code>?mirror=…</code> for the
          read-only mirror).
        </p>
      </header>
    </section>
  );
}

function Shell({ mirror, children }: { mirror: boolean; children: React.ReactNode }) {
  const route = useRoute();
  return (
    <div className={`shell${route.screen === 'presentation' ? ' shell-presentation' : ''}`}>
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span>
            <strong>On-device Sora</strong>
            <small>Studio</small>
          </span>
        </div>
        <nav aria-label="Screens">
          <ul className="nav">
            {screens.map((s) => (
              <li key={s.id}>
                <a
                  href={`#/${s.id}`}
                  data-testid={`nav-${s.id}`}
                  className={s.id === route.screen ? 'active' : undefined}
                  aria-current={s.id === route.screen ? 'page' : undefined}
                >
                  {s.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {mirror && <p className="versions muted">Read-only mirror</p>}
        {children}
      </aside>
      <main className="content">
        <CurrentScreen route={route} />
      </main>
    </div>
  );
}

/** The whole studio page for a connection. */
export function App({ connection }: { connection: StudioConnection }) {
  const [queryClient] = useState(createStudioQueryClient);
  if (connection.api === null) {
    return (
      <div className="shell">
        <main className="content">
          <MissingToken />
        </main>
      </div>
    );
  }
  const mirror = connection.role === 'mirror';
  return (
    <StudioProvider
      api={connection.api}
      onEvent={connection.onEvent}
      onStatus={connection.mode === 'web' ? connection.onStatus : undefined}
      readOnly={mirror}
      queryClient={queryClient}
    >
      <Shell mirror={mirror}>
        <VersionPanel />
      </Shell>
    </StudioProvider>
  );
}
