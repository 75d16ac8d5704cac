package spec

// validateSelection checks the data-selection parameters. Each strategy's
// own parameters are checked only when it is selected, so that a job
// written before they existed (a checkpoint's, whose missing keys decode
// as zero) stays valid.
func (j *Job) validateSelection(c *checker) {
	c.intMin("score_staleness", j.ScoreStaleness, 0)
	switch j.Select {
	case SelectiveBackprop:
		c.float("select_beta", j.SelectBeta, atLeast(0))
	case LossRank:
		c.float("select_pressure", j.SelectPressure, atLeast(1))
		c.float("select_pressure_end", j.SelectPressureEnd, atLeast(1))
	case Importance:
		c.float("select_smoothing", j.SelectSmoothing, interval{lo: 0, hi: 1, loOpen: true})
	}
	if j.Select == LossRank || j.Select == Importance {
		// A distribution over the whole data set cannot have every loss
		// measured at the current step.
		c.intMinWhy("score_staleness", j.ScoreStaleness, 1, " with select "+string(j.Select))
		c.float("select_fraction", j.SelectFraction, interval{lo: 0, hi: 1, loOpen: true})
	}
}

// TargetReached reports whether a test accuracy ends training early: the
// job has a target accuracy and accuracy reaches it.
func (j *Job) TargetReached(accuracy float64) bool {
	return j.TargetAccuracy > 0 && accuracy >= j.TargetAccuracy
}
