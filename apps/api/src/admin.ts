/**
 * Bull Board at `/admin/queues`: every queue of the deployment, behind HTTP Basic auth on the whole
 * path (page, API and static files). Without both `ADMIN_USER` and `ADMIN_PASSWORD` the board is
 * not mounted at all and the path answers 404: it is never open.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { type Express, type RequestHandler, Router } from 'express';
import helmet from 'helmet';
import { basicAuth } from './auth.ts';

/** Where the board is served. */
export const ADMIN_BASE_PATH = '/admin/queues';

/**
 * The board's own CSP: its page loads scripts, styles and images from itself and calls its own API.
 * It also links Google Fonts; those are left out on purpose, so an admin page sends nothing to a
 * third party (the UI falls back to system fonts).
 */
const boardCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

/**
 * A router serving Bull Board under {@link ADMIN_BASE_PATH}, or undefined when the admin
 * credentials are not both configured. Mount it at the app's root.
 */
export function adminRouter(options: {
  admin: { user?: string; password?: string };
  queues: readonly Queue[];
}): Router | undefined {
  const { user, password } = options.admin;
  if (!user || !password) return undefined;

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_BASE_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: {
      uiConfig: { boardTitle: 'genqueue', miscLinks: [{ text: 'Gallery', url: '/ui' }] },
    },
  });

  // The adapter serves the board from an express app of its own, which announced
  // `X-Powered-By: Express` on every board answer though the API's app disables it.
  const board = serverAdapter.getRouter() as Express;
  board.disable('x-powered-by');
  const router = Router();
  router.use(ADMIN_BASE_PATH, basicAuth({ user, password }), boardCsp, board as RequestHandler);
  return router;
}
