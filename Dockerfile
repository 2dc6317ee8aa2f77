# genqueue: one image for the API and the worker (the command chooses the role).
# TypeScript runs through tsx, as in development: there is no separate build output to drift.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY apps ./apps
COPY packages ./packages
# Dev dependencies (vitest, biome, typescript) are not needed at run time.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
USER node
EXPOSE 3000
# Overridden per service in docker-compose.yml: `npm run api` or `npm run worker`.
CMD ["npm", "start"]
