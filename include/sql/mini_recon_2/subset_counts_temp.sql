-- Mini Recon 2 inputs for one write: the (service, subset) distinct counts the caller measured
-- on the transformation and stage sides. Lives until the writing transaction ends.
CREATE TEMPORARY TABLE mr2_subset_counts (
    service          text   NOT NULL,
    subset           text   NOT NULL,
    transform_count  bigint NOT NULL,
    stage_count      bigint NOT NULL,
    PRIMARY KEY (service, subset)
) ON COMMIT DROP;
