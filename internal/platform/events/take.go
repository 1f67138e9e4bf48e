package events

// take returns first followed by whatever else is already waiting in ch, up
// to max items in all, without blocking: at low load a batch holds one item,
// under load it grows to max. A closed ch ends the batch. The consumer's
// workers batch messages and the relay batches delivery reports with it.
func take[T any](first T, ch <-chan T, max int) []T {
	batch := []T{first}
	for len(batch) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, v)
		default:
			return batch
		}
	}
	return batch
}
