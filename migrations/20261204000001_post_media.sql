-- Posts that use Soku's own media: which media each post names (so a finished media job can release the posts
-- that waited for it), and, on a target, why it is not handed over yet.
CREATE TABLE post_media (
    post_id   text NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    media_id  text NOT NULL,
    PRIMARY KEY (post_id, media_id)
);
CREATE INDEX post_media_media ON post_media (media_id);

-- `media`: the target waits for media still processing; NULL: nothing to wait for.
ALTER TABLE post_targets ADD COLUMN waiting_for text;
CREATE INDEX post_targets_waiting ON post_targets (post_id) WHERE waiting_for IS NOT NULL;
