import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles/app.css';

// Opening a pad link: fetch the pad page and the (large) editor chunk right away, in parallel
// with the session check, instead of one after the other.
if (/^\/p\/[^/]+/.test(window.location.pathname)) {
  void import('./features/pad/PadPage');
  void import('./editor/CodeEditor');
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
