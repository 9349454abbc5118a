import { lazy, Suspense, useEffect } from 'react';
import { BrowserRouter, Link, Route, Routes } from 'react-router-dom';
import { Landing } from './features/auth/Landing';
import { RequireAuth } from './features/auth/RequireAuth';
import { session } from './features/auth/session';
import { AppHeader } from './ui/Header';
import { Loading } from './ui/common';
import { ToastHost } from './ui/toast';

const Dashboard = lazy(() => import('./features/dashboard/Dashboard'));
const PadPage = lazy(() => import('./features/pad/PadPage'));
const InvitePage = lazy(() => import('./features/share/InvitePage'));
const Settings = lazy(() => import('./features/settings/Settings'));
const PlaybackPage = lazy(() => import('./features/playback/PlaybackPage'));
const QuestionBank = lazy(() => import('./features/interview/QuestionBank'));
const TakehomePage = lazy(() => import('./features/interview/TakehomePage'));
const AdminPage = lazy(() => import('./features/admin/AdminPage'));

function NotFound() {
  return (
    <>
      <AppHeader />
      <main className="page narrow">
        <h1>Page not found</h1>
        <p className="muted">There's nothing at this address.</p>
        <Link className="btn btn-primary" to="/">
          Go home
        </Link>
      </main>
    </>
  );
}

export function App() {
  useEffect(() => {
    void session.hydrate();
  }, []);
  return (
    <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route path="/" element={<Landing />} />
          <Route
            path="/dashboard"
            element={
              <RequireAuth>
                <Dashboard />
              </RequireAuth>
            }
          />
          <Route
            path="/p/:slug"
            element={
              <RequireAuth>
                <PadPage />
              </RequireAuth>
            }
          />
          <Route
            path="/p/:slug/recordings/:id"
            element={
              <RequireAuth>
                <PlaybackPage />
              </RequireAuth>
            }
          />
          <Route
            path="/questions"
            element={
              <RequireAuth>
                <QuestionBank />
              </RequireAuth>
            }
          />
          <Route
            path="/admin"
            element={
              <RequireAuth>
                <AdminPage />
              </RequireAuth>
            }
          />
          <Route path="/invite/:token" element={<InvitePage />} />
          <Route
            path="/take-home/:token"
            element={
              <RequireAuth>
                <TakehomePage />
              </RequireAuth>
            }
          />
          <Route
            path="/settings"
            element={
              <RequireAuth>
                <Settings />
              </RequireAuth>
            }
          />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
      <ToastHost />
    </BrowserRouter>
  );
}
