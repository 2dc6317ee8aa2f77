# genqueue: one image for the API and the workers (the command chooses the role).
#
# Stage 1 installs every dependency and compiles each app once (`npm run build`, esbuild) into
# apps/<app>/dist/main.js; stage 2 keeps only the compiled apps and the production dependencies,
# and runs them with plain node as the unprivileged `node` user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps ./apps
COPY packages ./packages
COPY scripts ./scripts
# valibot (under Bull Board) lists typescript as an optional peer, for its types: 23 MB never loaded.
RUN npm ci --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/typescript

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# A worker's memory settings, as scripts/worker-env.sh (which says why) gives them to `npm run
# worker`: glibc maps allocations of 64 KB and more, so freed socket buffers go back to the system
# (the API gets it too, harmlessly); the V8 flag is in the worker's commands.
ENV MALLOC_MMAP_THRESHOLD_=65536
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/apps/api/dist ./apps/api/dist
COPY --from=build /app/apps/worker/dist ./apps/worker/dist
COPY --from=build /app/apps/standalone/dist ./apps/standalone/dist
COPY --from=build /app/apps/cli/dist ./apps/cli/dist
COPY --from=build /app/apps/cli/bin ./apps/cli/bin
# The workspace links in node_modules/@genqueue point at sources that are not copied; the compiled
# apps bundle that code and never resolve them.
RUN rm -rf node_modules/@genqueue
USER node
EXPOSE 3000
# Overridden per service in docker-compose.yml (node apps/api/dist/main.js, apps/worker/dist/main.js).
# --max-semi-space-size=1: scripts/worker-env.sh.
CMD ["node", "--max-semi-space-size=1", "apps/standalone/dist/main.js"]
