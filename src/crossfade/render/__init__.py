"""Pure renderers: a spec in, a tree of files out. Nothing here touches the disk but `tree`."""
