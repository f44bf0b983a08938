-- A video that breaks a rule a transcode can fix gets one platform-safe H.264 copy, made by the media job
-- before the media is ready; platforms that need safe video use it (`rendition_error`: it could not be made).
ALTER TABLE media
    ADD COLUMN rendition_key   text,
    ADD COLUMN rendition_size  bigint,
    ADD COLUMN rendition_probe jsonb,
    ADD COLUMN rendition_error text;
