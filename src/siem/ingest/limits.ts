/** Most events in one `POST /api/v1/events` request. */
export const MAX_BATCH = 1000;
/** Largest request body of that route (≈ 1000 small events; big events need smaller batches). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
